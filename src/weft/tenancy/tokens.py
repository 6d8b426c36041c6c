"""Session tokens: short-lived bearer credentials that act as one linked account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput
from weft.ids import new_id
from weft.store.scope import OrgScope, Scope, account_scope
from weft.store.tables import LinkedAccount, SessionToken
from weft.tenancy.accounts import get_linked_account, upsert_linked_account
from weft.tenancy.secrets import hash_secret, new_session_token, same_hash


@dataclass(frozen=True)
class IssuedToken:
    """A token in clear (shown once) and when it stops working."""

    token: str
    expires_at: datetime
    scope: Scope


async def issue_session_token(
    scope: OrgScope,
    account_id: str,
    *,
    expires_in: int,
    max_expires_in: int,
    session: AsyncSession,
) -> IssuedToken:
    """Issue a token for the linked account, creating the account on first use as Refold does."""
    if not 60 <= expires_in <= max_expires_in:
        raise InvalidInput(
            f"expires_in must be between 60 and {max_expires_in} seconds",
            error_code="INVALID_EXPIRES_IN",
        )
    account = await upsert_linked_account(scope, account_id, session=session)
    raw = new_session_token()
    moment = now()
    expires_at = moment + timedelta(seconds=expires_in)
    session.add(
        SessionToken(
            id=new_id(),
            org_id=scope.org_id,
            environment=scope.environment,
            linked_account_pk=account.id,
            token_hash=hash_secret(raw),
            expires_at=expires_at,
            created_at=moment,
        )
    )
    await session.flush()
    return IssuedToken(token=raw, expires_at=expires_at, scope=account_scope(account))


async def revoke_session_tokens(
    scope: OrgScope,
    *,
    token: str | None = None,
    account_id: str | None = None,
    session: AsyncSession,
) -> int:
    """Revoke one token, or every live token of a linked account; returns how many."""
    if (token is None) == (account_id is None):
        raise InvalidInput("give exactly one of token or linked_account_id")
    stmt = update(SessionToken).where(
        SessionToken.org_id == scope.org_id,
        SessionToken.environment == scope.environment,
        SessionToken.revoked_at.is_(None),
    )
    if token is not None:
        stmt = stmt.where(SessionToken.token_hash == hash_secret(token))
    else:
        account = await get_linked_account(scope, account_id or "", session=session)
        stmt = stmt.where(SessionToken.linked_account_pk == account.id)
    result = await session.execute(stmt.values(revoked_at=now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Columns, not ORM objects: every call of the API with a session token runs it, and loading two
# entities cost twice the CPU of the query itself. Built once (SQLAlchemy memoises its cache key).
_TOKEN_SCOPE = (
    select(
        SessionToken.token_hash,
        SessionToken.revoked_at,
        SessionToken.expires_at,
        LinkedAccount.org_id,
        LinkedAccount.environment,
        LinkedAccount.id,
        LinkedAccount.account_id,
    )
    .join(LinkedAccount, LinkedAccount.id == SessionToken.linked_account_pk)
    .where(SessionToken.token_hash == bindparam("token_hash"))
)


async def authenticate_session_token(raw: str, *, session: AsyncSession) -> Scope | None:
    """The linked account a token acts as, or None when unknown, expired or revoked."""
    row = (await session.execute(_TOKEN_SCOPE, {"token_hash": hash_secret(raw)})).first()
    if row is None:
        return None
    token_hash, revoked_at, expires_at, org_id, environment, account_pk, account_id = row
    if revoked_at is not None or expires_at <= now():
        return None
    if not same_hash(token_hash, raw):
        return None
    return Scope(
        org_id=org_id,
        environment=environment,
        linked_account_pk=account_pk,
        account_id=account_id,
    )


@dataclass(frozen=True)
class TokenCheck:
    """Why a token does or does not work, for pages that explain it to a person."""

    scope: Scope | None  # the linked account when the token works
    org_id: str | None  # the token's org whenever the token is known
    expires_at: datetime | None
    problem: str | None  # "unknown", "expired" or "revoked"; None when it works


async def check_session_token(raw: str, *, session: AsyncSession) -> TokenCheck:
    """Like `authenticate_session_token`, but says why a known token stopped working."""
    row = (
        await session.execute(
            select(SessionToken, LinkedAccount)
            .join(LinkedAccount, LinkedAccount.id == SessionToken.linked_account_pk)
            .where(SessionToken.token_hash == hash_secret(raw))
        )
    ).first()
    if row is None or not same_hash(row[0].token_hash, raw):
        return TokenCheck(scope=None, org_id=None, expires_at=None, problem="unknown")
    token, account = row
    problem = (
        "revoked"
        if token.revoked_at is not None
        else "expired"
        if token.expires_at <= now()
        else None
    )
    return TokenCheck(
        scope=None if problem else account_scope(account),
        org_id=token.org_id,
        expires_at=token.expires_at,
        problem=problem,
    )
