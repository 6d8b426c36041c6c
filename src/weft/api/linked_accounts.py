"""Linked accounts and session tokens (org API key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from weft.api.deps import DbDep, OrgScopeDep, PageDep, SettingsDep
from weft.api.routing import Router
from weft.api.schemas import ERROR_RESPONSES, ErrorOut, Out, PageOut
from weft.store.tables import LinkedAccount
from weft.tenancy import service

router = Router(tags=["linked accounts"], responses=ERROR_RESPONSES)


class LinkedAccountIn(BaseModel):
    linked_account_id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=200)
    udf: Any = None


class LinkedAccountOut(Out):
    id: str = Field(alias="_id")
    associated_org: str
    account_id: str
    linked_account_id: str
    environment: str
    name: str | None
    udf: Any
    created_at: datetime = Field(alias="createdAt")
    updated_at: datetime = Field(alias="updatedAt")

    @classmethod
    def of(cls, account: LinkedAccount) -> LinkedAccountOut:
        return cls(
            id=account.id,
            associated_org=account.org_id,
            account_id=account.account_id,
            linked_account_id=account.account_id,
            environment=account.environment,
            name=account.name,
            udf=account.udf,
            created_at=account.created_at,
            updated_at=account.updated_at,
        )


@router.post(
    "/linked-account",
    response_model=LinkedAccountOut,
    summary="Create linked account",
    responses={409: {"model": ErrorOut, "description": "This linked_account_id already exists"}},
)
async def create_account(body: LinkedAccountIn, org: OrgScopeDep, db: DbDep) -> LinkedAccountOut:
    account = await service.save_linked_account(
        db, org, body.linked_account_id, name=body.name, udf=body.udf, replace=False
    )
    return LinkedAccountOut.of(account)


@router.put("/linked-account", response_model=LinkedAccountOut, summary="Create or update")
async def upsert_account(body: LinkedAccountIn, org: OrgScopeDep, db: DbDep) -> LinkedAccountOut:
    account = await service.save_linked_account(
        db, org, body.linked_account_id, name=body.name, udf=body.udf, replace=True
    )
    return LinkedAccountOut.of(account)


@router.get("/linked-account", response_model=PageOut[LinkedAccountOut], summary="List")
async def list_accounts(org: OrgScopeDep, db: DbDep, paging: PageDep) -> PageOut[Any]:
    page = await service.list_linked_accounts(db, org, page=paging.page, limit=paging.limit)
    return PageOut.of(page, [LinkedAccountOut.of(a) for a in page.items])


@router.get("/linked-account/{linked_account_id}", response_model=LinkedAccountOut)
async def get_account(linked_account_id: str, org: OrgScopeDep, db: DbDep) -> LinkedAccountOut:
    return LinkedAccountOut.of(await service.get_linked_account(db, org, linked_account_id))


class AccountDeletedOut(BaseModel):
    message: str = "User deleted successfully"
    success: bool = True


@router.delete("/linked-account/{linked_account_id}", response_model=AccountDeletedOut)
async def delete_account(linked_account_id: str, org: OrgScopeDep, db: DbDep) -> AccountDeletedOut:
    await service.delete_linked_account(db, org, linked_account_id)
    return AccountDeletedOut()


class SessionTokenIn(BaseModel):
    linked_account_id: str = Field(min_length=1, max_length=200)
    expires_in: int | None = Field(None, description="Seconds; default 24 h")
    name: str | None = Field(None, description="Name for a linked account created on first use")


class SessionTokenOut(Out):
    token: str
    expires_at: datetime = Field(alias="expiresAt")


@router.post("/session-token", response_model=SessionTokenOut, tags=["session tokens"])
async def create_token(
    body: SessionTokenIn, org: OrgScopeDep, db: DbDep, settings: SettingsDep
) -> SessionTokenOut:
    """Issue a session token for a linked account (created on first use)."""
    issued = await service.issue_session_token(
        db,
        org,
        body.linked_account_id,
        expires_in=body.expires_in if body.expires_in is not None else settings.session_token_ttl_s,
        max_expires_in=settings.session_token_max_ttl_s,
        name=body.name,
    )
    return SessionTokenOut(token=issued.token, expires_at=issued.expires_at)


class RevokeIn(BaseModel):
    token: str | None = None
    linked_account_id: str | None = None


class RevokedOut(BaseModel):
    revoked: int


@router.post("/session-token/revoke", response_model=RevokedOut, tags=["session tokens"])
async def revoke_tokens(body: RevokeIn, org: OrgScopeDep, db: DbDep) -> RevokedOut:
    """Revoke one token, or every token of a linked account."""
    count = await service.revoke_session_tokens(
        db, org, token=body.token, account_id=body.linked_account_id
    )
    return RevokedOut(revoked=count)
