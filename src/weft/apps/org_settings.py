"""An org's settings for apps and the ai node, kept in `orgs.settings` (secrets sealed).

`apps.<slug>`: `base_url` and OAuth2 endpoint overrides (self-hosted apps, tests pointing at
local servers) and the org's OAuth2 client (`client_id`, sealed `client_secret`).
`ai`: the OpenAI-compatible endpoint (`base_url`, `model`, sealed `api_key`, `timeout_s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.crypto import SecretBox
from weft.errors import NotFound
from weft.store.tables import Org

APP_URL_FIELDS = ("base_url", "authorize_url", "token_url", "revoke_url")
# Secrets kept sealed: the OAuth2 client's, and the signing secret of app webhooks the org
# registered with the provider itself (Slack's signing secret; apps.trigger_model).
SEALED_APP_FIELDS = ("client_secret", "webhook_secret")


@dataclass(frozen=True)
class AppSettings:
    """An org's overrides and OAuth2 client for one app (the secret opened)."""

    base_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    revoke_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    webhook_secret: str | None = None


@dataclass(frozen=True)
class AiSettings:
    """The org's chat-completion endpoint (the key opened)."""

    base_url: str
    model: str
    api_key: str | None
    timeout_s: float


def _context(org_id: str, name: str) -> str:
    return f"org-setting:{org_id}:{name}"


async def _org(org_id: str, session: AsyncSession) -> Org:
    org = await session.scalar(select(Org).where(Org.id == org_id))
    if org is None:
        raise NotFound(f"Organisation {org_id} not found", error_code="ORG_NOT_FOUND")
    return org


async def set_app_settings(
    org_id: str, slug: str, values: dict[str, Any], *, session: AsyncSession, box: SecretBox
) -> dict[str, Any]:
    """Merge `values` into the org's settings for `slug`; answers them without the secret."""
    org = await _org(org_id, session)
    current = dict((org.settings or {}).get("apps", {}).get(slug, {}))
    for name in (*APP_URL_FIELDS, "client_id"):
        if name in values:
            current[name] = values[name]
    for name in SEALED_APP_FIELDS:
        if values.get(name) is not None:
            current[f"{name}_sealed"] = box.seal(
                values[name], context=_context(org_id, f"apps.{slug}.{name}")
            )
    settings = dict(org.settings or {})
    settings["apps"] = {**settings.get("apps", {}), slug: current}
    org.settings = settings  # a new dict: the JSON column sees the change
    org.updated_at = now()
    await session.flush()
    return public_app_settings(current)


def public_app_settings(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored app settings as an API may show them: the secret only as `client_secret_set`."""
    shown = {name: value for name, value in stored.items() if not name.endswith("_sealed")}
    shown["client_secret_set"] = "client_secret_sealed" in stored
    if "webhook_secret_sealed" in stored:
        shown["webhook_secret_set"] = True
    return shown


async def app_settings(
    org_id: str, slug: str, *, session: AsyncSession, box: SecretBox
) -> AppSettings:
    """The org's settings for one app, secret opened (empty when none were set)."""
    org = await _org(org_id, session)
    stored = (org.settings or {}).get("apps", {}).get(slug, {})
    opened = {
        name: box.open(stored[f"{name}_sealed"], context=_context(org_id, f"apps.{slug}.{name}"))
        for name in SEALED_APP_FIELDS
        if stored.get(f"{name}_sealed")
    }
    return AppSettings(
        **{name: stored.get(name) for name in (*APP_URL_FIELDS, "client_id")}, **opened
    )


async def set_ai_settings(
    org_id: str, values: dict[str, Any], *, session: AsyncSession, box: SecretBox
) -> dict[str, Any]:
    """Merge the ai endpoint settings; answers them without the key."""
    org = await _org(org_id, session)
    current = dict((org.settings or {}).get("ai", {}))
    for name in ("base_url", "model", "timeout_s"):
        if values.get(name) is not None:
            current[name] = values[name]
    if values.get("api_key") is not None:
        current["api_key_sealed"] = box.seal(values["api_key"], context=_context(org_id, "ai"))
    org.settings = {**(org.settings or {}), "ai": current}
    org.updated_at = now()
    await session.flush()
    return public_ai_settings(current)


def public_ai_settings(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored ai settings as an API may show them: the key only as `api_key_set`."""
    shown = {name: value for name, value in stored.items() if not name.endswith("_sealed")}
    shown["api_key_set"] = "api_key_sealed" in stored
    return shown


async def ai_settings(org_id: str, *, session: AsyncSession, box: SecretBox) -> AiSettings | None:
    """The org's ai endpoint with the key opened, or None when it has not set one."""
    org = await _org(org_id, session)
    stored = (org.settings or {}).get("ai", {})
    if not stored.get("base_url") or not stored.get("model"):
        return None
    sealed = stored.get("api_key_sealed")
    return AiSettings(
        base_url=stored["base_url"],
        model=stored["model"],
        api_key=box.open(sealed, context=_context(org_id, "ai")) if sealed else None,
        timeout_s=float(stored.get("timeout_s", 60)),
    )


def sealed_org_values(settings: dict[str, Any]) -> list[tuple[list[str], str]]:
    """(path, context suffix) of every sealed value in an org's settings (for key rotation)."""
    found: list[tuple[list[str], str]] = []
    for slug, stored in (settings or {}).get("apps", {}).items():
        for name in SEALED_APP_FIELDS:
            if f"{name}_sealed" in stored:
                found.append((["apps", slug, f"{name}_sealed"], f"apps.{slug}.{name}"))
    if "api_key_sealed" in (settings or {}).get("ai", {}):
        found.append((["ai", "api_key_sealed"], "ai"))
    return found
