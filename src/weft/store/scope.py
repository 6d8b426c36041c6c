"""Tenant scope, and the only way to query a tenant table: through `scoped_select`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select

from weft.store.tables import (
    Config,
    Connection,
    DraftReplay,
    Execution,
    LinkedAccount,
    Workflow,
    WorkflowTemplate,
    WorkflowVersion,
)

ENVIRONMENTS = ("test", "production")


@dataclass(frozen=True)
class OrgScope:
    """An organisation acting in one environment (from its API key)."""

    org_id: str
    environment: str


@dataclass(frozen=True)
class Scope(OrgScope):
    """One linked account of an org in one environment: whose private data a call may touch."""

    linked_account_pk: str
    account_id: str


def account_scope(account: LinkedAccount) -> Scope:
    """The Scope that acts as `account`."""
    return Scope(
        org_id=account.org_id,
        environment=account.environment,
        linked_account_pk=account.id,
        account_id=account.account_id,
    )


@dataclass(frozen=True)
class PublicScope(OrgScope):
    """An org's public (org-level) workflows in one environment: rows with no linked account.

    Public workflows live in the same tables as private ones with `linked_account_pk` NULL; this
    scope reaches only those rows, so no call made with it can see a linked account's own work.
    """


# Tables whose rows belong to an org (and environment), and those that belong to a linked account.
_ORG_TABLES: set[type[Any]] = {LinkedAccount, WorkflowTemplate}
_ACCOUNT_TABLES: set[type[Any]] = {
    Workflow,
    WorkflowVersion,
    Execution,
    Config,
    Connection,
    DraftReplay,
}
# Account tables that also hold the org's public rows (linked_account_pk NULL).
_PUBLIC_TABLES: set[type[Any]] = {Workflow, WorkflowVersion}

M = TypeVar("M")


class ScopeMissing(RuntimeError):
    """A tenant table was queried without the scope it needs: a programming error."""


def scoped_select(model: type[M], scope: OrgScope | None) -> Select[tuple[M]]:
    """`SELECT model` restricted to `scope`; refuses tenant tables without a fitting scope."""
    if model in _PUBLIC_TABLES and isinstance(scope, PublicScope):
        return select(model).where(
            model.org_id == scope.org_id,  # type: ignore[attr-defined]
            model.environment == scope.environment,  # type: ignore[attr-defined]
            model.linked_account_pk.is_(None),  # type: ignore[attr-defined]
        )
    if model in _ACCOUNT_TABLES:
        if not isinstance(scope, Scope):
            raise ScopeMissing(f"{model.__name__} needs a linked-account Scope")
        return select(model).where(
            model.org_id == scope.org_id,  # type: ignore[attr-defined]
            model.environment == scope.environment,  # type: ignore[attr-defined]
            model.linked_account_pk == scope.linked_account_pk,  # type: ignore[attr-defined]
        )
    if model in _ORG_TABLES:
        if scope is None:
            raise ScopeMissing(f"{model.__name__} needs an OrgScope")
        return select(model).where(
            model.org_id == scope.org_id,  # type: ignore[attr-defined]
            model.environment == scope.environment,  # type: ignore[attr-defined]
        )
    return select(model)


def scope_columns(scope: Scope | PublicScope) -> dict[str, str | None]:
    """The column values a new row of a linked-account (or public) table must carry."""
    return {
        "org_id": scope.org_id,
        "environment": scope.environment,
        "linked_account_pk": scope.linked_account_pk if isinstance(scope, Scope) else None,
    }


def account_id_of(scope: OrgScope) -> str | None:
    """The linked account id a scope acts for; None for the org's public workflows."""
    return scope.account_id if isinstance(scope, Scope) else None
