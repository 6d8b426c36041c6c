"""Who a request is: API keys and session tokens checked in one read transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from weft.store.db import Database
from weft.store.scope import OrgScope, Scope, account_scope
from weft.tenancy.accounts import find_linked_account
from weft.tenancy.orgs import authenticate_api_key
from weft.tenancy.tokens import authenticate_session_token


@dataclass(frozen=True)
class KeyForAccount:
    """An org key's org (None: the key is bad) and the linked account it names (None: unknown)."""

    org: OrgScope | None
    account: Scope | None


async def authenticate_key(db: Database, api_key: str) -> OrgScope | None:
    """The org and environment of a live API key."""
    async with db.reading() as session:
        return await authenticate_api_key(api_key, session=session)


async def authenticate_token(db: Database, token: str) -> Scope | None:
    """The linked account of a live session token."""
    async with db.reading() as session:
        return await authenticate_session_token(token, session=session)


async def authenticate_key_for_account(
    db: Database, api_key: str, account_id: str | None
) -> KeyForAccount:
    """An org key and, when it works and `account_id` is given, the linked account it names."""
    async with db.reading() as session:
        org = await authenticate_api_key(api_key, session=session)
        if org is None or not account_id:
            return KeyForAccount(org, None)
        account = await find_linked_account(org, account_id, session=session)
    return KeyForAccount(org, account_scope(account) if account is not None else None)


async def credential_works(
    db: Database, *, api_key: str | None, bearer: str | None, query_token: str | None
) -> bool:
    """Whether the first credential given (key, bearer token, `?token=`) still works."""
    async with db.reading() as session:
        if api_key:
            return await authenticate_api_key(api_key, session=session) is not None
        if bearer is not None:
            return await authenticate_session_token(bearer, session=session) is not None
        if query_token:
            return await authenticate_session_token(query_token, session=session) is not None
    return False
