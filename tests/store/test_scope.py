"""The store refuses to query a tenant table without the scope it needs."""

from __future__ import annotations

import pytest

from weft.store.scope import OrgScope, PublicScope, Scope, ScopeMissing, scoped_select
from weft.store.tables import Config, Execution, LinkedAccount, Workflow, WorkflowVersion

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("model", [Workflow, WorkflowVersion])
def test_account_tables_need_a_linked_account_scope(model: type) -> None:
    with pytest.raises(ScopeMissing):
        scoped_select(model, None)
    with pytest.raises(ScopeMissing):
        scoped_select(model, OrgScope("o" * 24, "test"))
    sql = str(scoped_select(model, Scope("o" * 24, "test", "l" * 24, "acct")))
    assert "linked_account_pk" in sql and "org_id" in sql and "environment" in sql


def test_org_tables_need_an_org_scope() -> None:
    with pytest.raises(ScopeMissing):
        scoped_select(LinkedAccount, None)
    sql = str(scoped_select(LinkedAccount, OrgScope("o" * 24, "test")))
    assert "org_id" in sql and "environment" in sql


@pytest.mark.parametrize("model", [Workflow, WorkflowVersion])
def test_public_scope_reaches_only_rows_without_a_linked_account(model: type) -> None:
    sql = str(scoped_select(model, PublicScope("o" * 24, "test")))
    assert "linked_account_pk IS NULL" in sql and "org_id" in sql and "environment" in sql
    private = str(scoped_select(model, Scope("o" * 24, "test", "l" * 24, "acct")))
    assert "IS NULL" not in private


@pytest.mark.parametrize("model", [Execution, Config])
def test_runs_and_configs_always_belong_to_a_linked_account(model: type) -> None:
    with pytest.raises(ScopeMissing):
        scoped_select(model, PublicScope("o" * 24, "test"))
    sql = str(scoped_select(model, Scope("o" * 24, "test", "l" * 24, "acct")))
    assert "linked_account_pk" in sql
