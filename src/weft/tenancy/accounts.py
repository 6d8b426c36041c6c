"""Linked accounts: an org's end customers, one record per org, environment and account id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import Conflict, InvalidInput, NotFound
from weft.ids import new_id
from weft.store.pagination import Page, paginate
from weft.store.scope import OrgScope, scoped_select
from weft.store.tables import LinkedAccount
from weft.workflows.live_cache import LIVE_STARTS

MAX_ACCOUNT_ID_LENGTH = 200


def _check_account_id(account_id: str) -> str:
    account_id = account_id.strip() if isinstance(account_id, str) else ""
    if not account_id:
        raise InvalidInput(
            "linked_account_id must be a non-empty string", error_code="INVALID_INPUT"
        )
    if len(account_id) > MAX_ACCOUNT_ID_LENGTH:
        raise InvalidInput(f"linked_account_id is longer than {MAX_ACCOUNT_ID_LENGTH} characters")
    return account_id


async def find_linked_account(
    scope: OrgScope, account_id: str, *, session: AsyncSession
) -> LinkedAccount | None:
    """The org's linked account with this id in this environment, if any."""
    stmt = scoped_select(LinkedAccount, scope).where(LinkedAccount.account_id == account_id)
    return await session.scalar(stmt)


async def get_linked_account(
    scope: OrgScope, account_id: str, *, session: AsyncSession
) -> LinkedAccount:
    """The org's linked account, or 404."""
    account = await find_linked_account(scope, account_id, session=session)
    if account is None:
        raise NotFound(
            f"Linked account {account_id} not found", error_code="LINKED_ACCOUNT_NOT_FOUND"
        )
    return account


async def create_linked_account(
    scope: OrgScope,
    account_id: str,
    *,
    name: str | None = None,
    udf: Any = None,
    session: AsyncSession,
) -> LinkedAccount:
    """Create a linked account; 409 when the id is already taken in this org and environment."""
    account_id = _check_account_id(account_id)
    if await find_linked_account(scope, account_id, session=session) is not None:
        raise Conflict(
            f"Linked account {account_id} already exists", error_code="LINKED_ACCOUNT_EXISTS"
        )
    return await _insert(scope, account_id, name=name, udf=udf, session=session)


async def upsert_linked_account(
    scope: OrgScope,
    account_id: str,
    *,
    name: str | None = None,
    udf: Any = None,
    session: AsyncSession,
) -> LinkedAccount:
    """Create the linked account, or update the name and udf it has."""
    account_id = _check_account_id(account_id)
    account = await find_linked_account(scope, account_id, session=session)
    if account is None:
        return await _insert(scope, account_id, name=name, udf=udf, session=session)
    if name is not None:
        account.name = name
    if udf is not None:
        account.udf = udf
    account.updated_at = now()
    await session.flush()
    return account


async def _insert(
    scope: OrgScope, account_id: str, *, name: str | None, udf: Any, session: AsyncSession
) -> LinkedAccount:
    moment = now()
    account = LinkedAccount(
        id=new_id(),
        org_id=scope.org_id,
        environment=scope.environment,
        account_id=account_id,
        name=name,
        udf=udf,
        created_at=moment,
        updated_at=moment,
    )
    session.add(account)
    await session.flush()
    return account


async def list_linked_accounts(
    scope: OrgScope, *, page: int, limit: int, session: AsyncSession
) -> Page[LinkedAccount]:
    """The org's linked accounts in this environment, newest first."""
    return await paginate(
        scoped_select(LinkedAccount, scope),
        session=session,
        page=page,
        limit=limit,
        order_by=(LinkedAccount.created_at.desc(), LinkedAccount.id.desc()),
    )


async def delete_linked_account(scope: OrgScope, account_id: str, *, session: AsyncSession) -> None:
    """Delete a linked account with its tokens and private workflows (cascade)."""
    account = await get_linked_account(scope, account_id, session=session)
    await session.execute(delete(LinkedAccount).where(LinkedAccount.id == account.id))
    LIVE_STARTS.forget_all()
