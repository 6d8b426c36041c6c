"""Organisations and their API keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weft.clock import now
from weft.errors import InvalidInput, NotFound
from weft.ids import new_id
from weft.store.scope import ENVIRONMENTS, OrgScope
from weft.store.tables import ApiKey, Org, SessionToken
from weft.tenancy.audit import record_cli_change
from weft.tenancy.secrets import hash_secret, new_api_key, same_hash


@dataclass(frozen=True)
class CreatedOrg:
    """A new org and its API keys in clear: the only time they are ever shown."""

    org: Org
    api_keys: dict[str, str]


# Adds a new org's default custom application (apps.catalog.create_default_app), called as
# `(org_id, session=)`: the apps package sits above this one.
AddDefaultApp = Callable[..., Awaitable[Any]]


async def create_org(
    name: str, *, add_default_app: AddDefaultApp, session: AsyncSession
) -> CreatedOrg:
    """Create an org with one API key per environment and its default custom application."""
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be empty", error_code="INVALID_NAME")
    moment = now()
    org = Org(id=new_id(), name=name, settings={}, created_at=moment, updated_at=moment)
    session.add(org)
    await session.flush()
    keys = {env: await _add_key(org.id, env, session=session) for env in ENVIRONMENTS}
    await add_default_app(org.id, session=session)
    return CreatedOrg(org=org, api_keys=keys)


@dataclass(frozen=True)
class RotatedKey:
    """The new key in clear, and how many session tokens died with the old one."""

    api_key: str
    revoked_session_tokens: int


async def rotate_api_key(org_id: str, environment: str, *, session: AsyncSession) -> RotatedKey:
    """Revoke the org's live key for `environment` and every session token minted under it.

    A rotation usually answers a leak; a token minted with the leaked key is as compromised as
    the key, so it stops working too (linked accounts get new tokens from the new key).
    """
    if environment not in ENVIRONMENTS:
        raise InvalidInput(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    await get_org(org_id, session=session)
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.org_id == org_id,
            ApiKey.environment == environment,
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=now())
    )
    revoked = await session.execute(
        update(SessionToken)
        .where(
            SessionToken.org_id == org_id,
            SessionToken.environment == environment,
            SessionToken.revoked_at.is_(None),
        )
        .values(revoked_at=now())
    )
    api_key = await _add_key(org_id, environment, session=session)
    count = int(revoked.rowcount or 0)  # type: ignore[attr-defined]
    # Every environment's log shows it: whoever reads production's log learns of a test key leak.
    record_cli_change(
        org_id,
        "rotate API key",
        target={"environment": environment, "revoked_session_tokens": count},
        session=session,
    )
    return RotatedKey(api_key, count)


async def get_org(org_id: str, *, session: AsyncSession) -> Org:
    """The org, or 404."""
    org = await session.get(Org, org_id)
    if org is None:
        raise NotFound(f"Org {org_id} not found", error_code="ORG_NOT_FOUND")
    return org


async def _add_key(org_id: str, environment: str, *, session: AsyncSession) -> str:
    raw = new_api_key(environment)
    session.add(
        ApiKey(
            id=new_id(),
            org_id=org_id,
            environment=environment,
            key_hash=hash_secret(raw),
            prefix=raw[:14],
            created_at=now(),
        )
    )
    await session.flush()
    return raw


async def authenticate_api_key(raw: str, *, session: AsyncSession) -> OrgScope | None:
    """The org and environment an API key acts for, or None when it is unknown or revoked."""
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(raw)))
    if key is None or key.revoked_at is not None or not same_hash(key.key_hash, raw):
        return None
    return OrgScope(org_id=key.org_id, environment=key.environment)


MAX_ALLOWED_ORIGINS = 50
_ORIGIN_SCHEMES = ("http", "https")


def normalize_origin(raw: str) -> str:
    """`scheme://host[:port]`, lower-cased; anything else (a path, query, user) is refused."""
    text = raw.strip() if isinstance(raw, str) else ""
    # A trailing slash is how browsers' address bars show an origin: accept it, store without.
    candidate = text[:-1] if text.endswith("/") and text.count("/") == 3 else text
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme.lower() not in _ORIGIN_SCHEMES
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or "?" in candidate
        or "#" in candidate
        or parts.username is not None
        or parts.password is not None
        or any(c.isspace() for c in candidate)
        or "*" in candidate
    ):
        raise InvalidInput(
            f"{text!r} is not an origin: give scheme://host[:port] (http or https), no path",
            error_code="INVALID_ORIGIN",
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def allowed_origins_from(settings: dict[str, Any] | None) -> list[str]:
    """The allowed origins held in an org's settings JSON (empty when unset)."""
    origins = (settings or {}).get("allowed_origins") or []
    return [o for o in origins if isinstance(o, str)]


async def allowed_origins_of(org_id: str, *, session: AsyncSession) -> list[str]:
    """Origins that may embed the editor and call the API from a browser for this org."""
    settings = await session.scalar(select(Org.settings).where(Org.id == org_id))
    return allowed_origins_from(settings)


async def set_allowed_origins(
    org_id: str, origins: list[str], *, session: AsyncSession
) -> list[str]:
    """Replace the org's allowed origins (validated, normalised, de-duplicated); returns them."""
    if len(origins) > MAX_ALLOWED_ORIGINS:
        raise InvalidInput(
            f"at most {MAX_ALLOWED_ORIGINS} allowed origins", error_code="INVALID_ORIGIN"
        )
    cleaned = list(dict.fromkeys(normalize_origin(origin) for origin in origins))
    org = await get_org(org_id, session=session)
    # A new dict: SQLAlchemy does not see in-place changes to a JSON column.
    org.settings = {**(org.settings or {}), "allowed_origins": cleaned}
    org.updated_at = now()
    await session.flush()
    return cleaned
