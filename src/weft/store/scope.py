"""Tenant scope, and the only way to query a tenant table: through `scoped_select`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select

from weft.store.tables import Connection, Execution, LinkedAccount, Workflow, WorkflowVersion

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


# Tables whose rows belong to an org (and environment), and those that belong to a linked account.
_ORG_TABLES: set[type[Any]] = {LinkedAccount}
_ACCOUNT_TABLES: set[type[Any]] = {Workflow, WorkflowVersion, Execution, Connection}

M = TypeVar("M")


class ScopeMissing(RuntimeError):
    """A tenant table was queried without the scope it needs: a programming error."""


def scoped_select(model: type[M], scope: OrgScope | None) -> Select[tuple[M]]:
    """`SELECT model` restricted to `scope`; refuses tenant tables without a fitting scope."""
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


def scope_columns(scope: Scope) -> dict[str, str]:
    """The column values a new row of a linked-account table must carry."""
    return {
        "org_id": scope.org_id,
        "environment": scope.environment,
        "linked_account_pk": scope.linked_account_pk,
    }
