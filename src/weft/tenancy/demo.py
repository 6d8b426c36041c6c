"""The demo organisation `weft serve --demo` prepares on first start and reuses after."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from weft.store.scope import OrgScope
from weft.store.tables import Org
from weft.tenancy.accounts import upsert_linked_account
from weft.tenancy.orgs import create_org
from weft.tenancy.tokens import IssuedToken, issue_session_token

DEMO_ACCOUNT_ID = "demo-user"


@dataclass(frozen=True)
class DemoCredentials:
    """What a newcomer needs to call the API at once."""

    org_id: str
    api_keys: dict[str, str]
    linked_account_id: str
    session: IssuedToken


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
        created = await create_org("Demo Org", session=session)
        saved = {"org_id": created.org.id, "api_keys": created.api_keys}
        path.write_text(json.dumps(saved, indent=2))
        os.chmod(path, 0o600)
    scope = OrgScope(org_id=saved["org_id"], environment="test")
    await upsert_linked_account(scope, DEMO_ACCOUNT_ID, name="Demo User", session=session)
    token = await issue_session_token(
        scope, DEMO_ACCOUNT_ID, expires_in=token_ttl_s, max_expires_in=token_ttl_s, session=session
    )
    return DemoCredentials(
        org_id=saved["org_id"],
        api_keys=saved["api_keys"],
        linked_account_id=DEMO_ACCOUNT_ID,
        session=token,
    )
