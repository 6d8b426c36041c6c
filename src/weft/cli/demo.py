"""The demo organisation `weft serve --demo` prepares on first start and reuses after."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weft.apps.catalog import create_default_app, resolve_app
from weft.errors import NotFound
from weft.store.scope import OrgScope, Scope, account_scope
from weft.store.tables import Org
from weft.tenancy.accounts import upsert_linked_account
from weft.tenancy.audit import record_cli_change
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import IssuedToken, issue_session_token
from weft.workflows import records, versions

DEMO_ACCOUNT_ID = "demo-user"
DEMO_WORKFLOW_NAME = "Welcome new customers"


@dataclass(frozen=True)
class DemoCredentials:
    """What a newcomer needs to call the API at once."""

    org_id: str
    api_keys: dict[str, str]
    linked_account_id: str
    session: IssuedToken
    workflow_id: str


async def ensure_demo(
    data_dir: Path, *, token_ttl_s: int, session: AsyncSession
) -> DemoCredentials:
    """Create the demo org on first call, then issue a fresh session token for its account.

    Keys are stored hashed, so the clear demo keys are kept in `demo.json` in the data
    directory (mode 600) to be printed again on every start: a local convenience only.
    """
    path = data_dir / "demo.json"
    saved = json.loads(path.read_text()) if path.exists() else None
    if saved is None or await session.get(Org, saved["org_id"]) is None:
        created = await create_org("Demo Org", add_default_app=create_default_app, session=session)
        org_id = created.org.id
        record_cli_change(org_id, "create org", target={"name": "Demo Org"}, session=session)
        saved = {"org_id": created.org.id, "api_keys": created.api_keys}
        path.write_text(json.dumps(saved, indent=2))
        os.chmod(path, 0o600)
    scope = OrgScope(org_id=saved["org_id"], environment="test")
    account = await upsert_linked_account(scope, DEMO_ACCOUNT_ID, name="Demo User", session=session)
    workflow_id = await _ensure_demo_workflow(
        account_scope(account), saved.get("workflow_id"), session=session
    )
    if saved.get("workflow_id") != workflow_id:
        saved["workflow_id"] = workflow_id
        path.write_text(json.dumps(saved, indent=2))
        os.chmod(path, 0o600)
    token = await issue_session_token(
        scope, DEMO_ACCOUNT_ID, expires_in=token_ttl_s, max_expires_in=token_ttl_s, session=session
    )
    record_cli_change(
        scope.org_id,
        "issue session token",
        target={"linked_account_id": DEMO_ACCOUNT_ID},
        session=session,
        environments=[scope.environment],
    )
    return DemoCredentials(
        org_id=saved["org_id"],
        api_keys=saved["api_keys"],
        linked_account_id=DEMO_ACCOUNT_ID,
        session=token,
        workflow_id=workflow_id,
    )


def demo_graph() -> dict[str, Any]:
    """A small draft worth opening in the editor: trigger, a branch, and a step on each side."""
    nodes = [
        {
            "id": "1",
            "type": "start",
            "name": "Start",
            "position": {"x": 0, "y": 0},
            "data": {
                "trigger": "manual",
                "sample_payload": {"name": "Ada", "email": "ada@example.com", "plan": "pro"},
            },
        },
        {
            "id": "2",
            "type": "condition",
            "name": "Is pro",
            "position": {"x": 0, "y": 160},
            "data": {"expression": 'trigger.plan = "pro"'},
        },
        {
            "id": "3",
            "type": "transform",
            "name": "Pro welcome",
            "position": {"x": -180, "y": 320},
            "data": {"value": {"to": "{{ trigger.email }}", "text": "Welcome to Pro!"}},
        },
        {
            "id": "4",
            "type": "transform",
            "name": "Standard welcome",
            "position": {"x": 180, "y": 320},
            "data": {"value": {"to": "{{ trigger.email }}", "text": "Welcome aboard!"}},
        },
    ]
    edges = [
        {"id": "e1-2", "source": "1", "target": "2", "sourceHandle": None},
        {"id": "e2-3", "source": "2", "target": "3", "sourceHandle": "true"},
        {"id": "e2-4", "source": "2", "target": "4", "sourceHandle": "false"},
    ]
    return {"nodes": nodes, "edges": edges}


async def _ensure_demo_workflow(
    scope: Scope, workflow_id: str | None, *, session: AsyncSession
) -> str:
    """The demo account's demo workflow: the saved one while it exists, else a new draft."""
    if workflow_id:
        try:
            return (await records.locate_workflow(scope, workflow_id, session=session)).workflow.id
        except NotFound:
            pass
    app = await resolve_app(scope.org_id, session=session)
    workflow, _ = await records.create_workflow(
        scope, name=DEMO_WORKFLOW_NAME, app=app, description=None, session=session
    )
    graph = demo_graph()
    await versions.save_draft(
        scope,
        workflow.id,
        nodes=graph["nodes"],
        edges=graph["edges"],
        settings=None,
        session=session,
    )
    return workflow.id
