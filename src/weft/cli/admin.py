"""Commands that manage tenants: org, linked-account, token, secrets.

Each command imports the tenancy and store modules it calls in its body: start-up time
(`weft --help` would otherwise load SQLAlchemy and the tables; see cli/common.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from weft.cli.common import (
    EnvOpt,
    JsonOpt,
    existing_database,
    in_transaction,
    load_settings,
    output,
)
from weft.clock import isoformat

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from weft.store.scope import OrgScope

org_app = typer.Typer(help="Organisations and their API keys.", no_args_is_help=True)
account_app = typer.Typer(help="Linked accounts of an organisation.", no_args_is_help=True)
token_app = typer.Typer(help="Session tokens for linked accounts.", no_args_is_help=True)
secrets_app = typer.Typer(help="The key that seals connection secrets.", no_args_is_help=True)


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Option("--name", help="Organisation name")], as_json: JsonOpt = False
) -> None:
    """Create an organisation with a test and a production API key (shown once)."""
    from weft.apps.catalog import create_default_app
    from weft.tenancy.audit import record_cli_change
    from weft.tenancy.orgs import create_org

    settings = existing_database()

    async def work(session: AsyncSession) -> Any:
        created = await create_org(name, add_default_app=create_default_app, session=session)
        record_cli_change(created.org.id, "create org", target={"name": name}, session=session)
        return created

    created = in_transaction(settings, work)
    data = {"org_id": created.org.id, "name": created.org.name, "api_keys": created.api_keys}
    human = (
        f"created org {created.org.id} ({created.org.name})\n"
        f"  test API key:       {created.api_keys['test']}\n"
        f"  production API key: {created.api_keys['production']}\n"
        "Keys are stored hashed: copy them now, they cannot be shown again."
    )
    output(as_json, data, human)


@org_app.command("rotate-key")
def org_rotate_key(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Revoke an org's API key for one environment (and its session tokens); print a new one."""
    from weft.tenancy.orgs import rotate_api_key

    settings = existing_database()
    rotated = in_transaction(settings, lambda s: rotate_api_key(org, environment, session=s))
    data = {
        "org_id": org,
        "environment": environment,
        "api_key": rotated.api_key,
        "revoked_session_tokens": rotated.revoked_session_tokens,
    }
    human = (
        f"new key: {rotated.api_key}\n"
        f"session tokens minted under the old key, now revoked: {rotated.revoked_session_tokens}"
    )
    output(as_json, data, human)


@org_app.command("update")
def org_update(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-origin",
            help="Origin (scheme://host[:port]) allowed to embed the editor; repeat for more. "
            "Replaces the list; give --allowed-origin '' to clear it.",
        ),
    ] = None,
    outbound_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--outbound-allow",
            help="Private destination (host, host:port, CIDR[:port]) the org's workflows may "
            "reach, within WEFT_OUTBOUND_ORG_ALLOW; repeat for more. Replaces the list; "
            "give --outbound-allow '' to clear it.",
        ),
    ] = None,
    pause_after_failures: Annotated[
        int | None,
        typer.Option(
            "--pause-after-failures",
            help="Failed runs in a row after which a workflow pauses itself (0: never; "
            "default 10).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Update an organisation's settings (embedding origins, outbound policy, auto-pause)."""
    from weft.net import OutboundPolicy
    from weft.tenancy.audit import record_cli_change
    from weft.tenancy.org_failures import pause_after_of, set_pause_after
    from weft.tenancy.org_outbound import outbound_allow_of, set_outbound_allow
    from weft.tenancy.orgs import allowed_origins_of, get_org, set_allowed_origins

    settings = existing_database()
    ceiling = OutboundPolicy.parse(settings.outbound_org_allow)

    async def work(session: AsyncSession) -> dict[str, Any]:
        await get_org(org, session=session)
        if allowed_origin is not None:
            wanted = [origin for origin in allowed_origin if origin.strip()]
            await set_allowed_origins(org, wanted, session=session)
        if outbound_allow is not None:
            entries = [entry for entry in outbound_allow if entry.strip()]
            await set_outbound_allow(org, entries, ceiling, session=session)
        if allowed_origin is not None or outbound_allow is not None:
            changed = {
                name: ", ".join(v for v in values if v.strip())
                for name, values in (
                    ("allowed_origins", allowed_origin),
                    ("outbound_allow", outbound_allow),
                )
                if values is not None
            }
            record_cli_change(org, "update org settings", target=changed, session=session)
        if pause_after_failures is not None:
            await set_pause_after(org, pause_after_failures, session=session)
            changed_limit = {"pause_after_failures": str(pause_after_failures)}
            record_cli_change(org, "update org settings", target=changed_limit, session=session)
        return {
            "org_id": org,
            "allowed_origins": await allowed_origins_of(org, session=session),
            "outbound_allow": await outbound_allow_of(org, session=session),
            "pause_after_failures": await pause_after_of(org, session=session),
        }

    shown = in_transaction(settings, work)
    human = (
        f"org {org} allowed origins: " + (", ".join(shown["allowed_origins"]) or "(none)") + "\n"
        "outbound allow: " + (", ".join(shown["outbound_allow"]) or "(none)") + "\n"
        f"pause after failures: {shown['pause_after_failures']}"
    )
    output(as_json, shown, human)


def _limit(value: str | None, name: str) -> int | None:
    """A quota option's value: a whole number, or `none` to remove the limit."""
    if value is None or value.strip().lower() == "none":
        return None
    if not value.strip().isdigit():
        typer.secho(f"error: --{name} must be a whole number or 'none'", fg="red", err=True)
        raise typer.Exit(2)
    return int(value)


_QUOTA_OPTIONS = ("runs-per-month", "concurrent-runs", "steps-per-run", "action-calls-per-day")


@org_app.command("quotas")
def org_quotas(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    environment: EnvOpt = "test",
    linked_account: Annotated[
        str | None, typer.Option("--linked-account", help="A linked account's quotas")
    ] = None,
    runs_per_month: Annotated[str | None, typer.Option("--runs-per-month")] = None,
    concurrent_runs: Annotated[str | None, typer.Option("--concurrent-runs")] = None,
    steps_per_run: Annotated[str | None, typer.Option("--steps-per-run")] = None,
    action_calls_per_day: Annotated[str | None, typer.Option("--action-calls-per-day")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set the quotas of an org (or of one linked account): each option sets one limit,
    `none` removes it; the others keep their values. Other processes apply a change within
    seconds."""
    from weft.tenancy.audit import record_cli_change
    from weft.tenancy.orgs import get_org
    from weft.tenancy.quotas import QUOTA_NAMES, save_quotas

    settings = existing_database()
    scope = _org_scope(org, environment)
    given = (runs_per_month, concurrent_runs, steps_per_run, action_calls_per_day)
    changes = {
        name: _limit(value, option)
        for name, option, value in zip(QUOTA_NAMES, _QUOTA_OPTIONS, given, strict=True)
        if value is not None
    }

    async def work(session: AsyncSession) -> dict[str, Any]:
        await get_org(org, session=session)
        limits = await save_quotas(scope, linked_account, changes, session=session)
        if changes:
            target = {"linked_account_id": linked_account, **changes}
            record_cli_change(org, "set quotas", target=target, session=session)
        return {"org_id": org, "linked_account_id": linked_account, **vars(limits)}

    shown = in_transaction(settings, work)
    whose = f"linked account {linked_account}" if linked_account else f"org {org}"
    lines = [f"{name}: {'none' if shown[name] is None else shown[name]}" for name in QUOTA_NAMES]
    output(as_json, shown, f"quotas of {whose} ({environment})\n  " + "\n  ".join(lines))


def _org_scope(org: str, environment: str) -> OrgScope:
    from weft.store.scope import ENVIRONMENTS, OrgScope

    if environment not in ENVIRONMENTS:
        typer.secho(f"error: environment must be one of {ENVIRONMENTS}", fg="red", err=True)
        raise typer.Exit(2)
    return OrgScope(org_id=org, environment=environment)


@account_app.command("create")
def linked_account_create(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    account_id: Annotated[str, typer.Option("--id", help="The org's id for the account")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    environment: EnvOpt = "test",
    as_json: JsonOpt = False,
) -> None:
    """Create (or update) a linked account."""
    from weft.tenancy.accounts import upsert_linked_account
    from weft.tenancy.audit import record_cli_change
    from weft.tenancy.orgs import get_org

    scope = _org_scope(org, environment)
    settings = existing_database()

    async def work(session: AsyncSession) -> Any:
        await get_org(org, session=session)
        account = await upsert_linked_account(scope, account_id, name=name, session=session)
        record_cli_change(
            org,
            "save linked account",
            target={"linked_account_id": account_id},
            session=session,
            environments=[environment],
        )
        return account

    account = in_transaction(settings, work)
    data = {
        "_id": account.id,
        "linked_account_id": account.account_id,
        "org_id": account.org_id,
        "environment": account.environment,
        "name": account.name,
    }
    output(as_json, data, f"linked account {account.account_id} ready in {account.environment}")


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option("--org", help="Org id")],
    linked_account: Annotated[str, typer.Option("--linked-account", help="Linked account id")],
    environment: EnvOpt = "test",
    expires_in: Annotated[int | None, typer.Option(help="Seconds (default 24 h)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Issue a session token for a linked account (created on first use)."""
    from weft.tenancy.audit import record_cli_change
    from weft.tenancy.orgs import get_org
    from weft.tenancy.tokens import issue_session_token

    scope = _org_scope(org, environment)
    settings = existing_database()

    async def work(session: AsyncSession) -> Any:
        await get_org(org, session=session)
        issued = await issue_session_token(
            scope,
            linked_account,
            expires_in=expires_in or settings.session_token_ttl_s,
            max_expires_in=settings.session_token_max_ttl_s,
            session=session,
        )
        record_cli_change(
            org,
            "issue session token",
            target={"linked_account_id": linked_account},
            session=session,
            environments=[environment],
        )
        return issued

    issued = in_transaction(settings, work)
    data = {
        "token": issued.token,
        "expires_at": isoformat(issued.expires_at),
        "linked_account_id": linked_account,
        "environment": environment,
    }
    output(as_json, data, f"{issued.token}\n(expires {isoformat(issued.expires_at)})")


@secrets_app.command("rotate")
def secrets_rotate(
    new_key: Annotated[
        str | None,
        typer.Option("--new-key", help="The new key (default: a fresh random one)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-encrypt every stored secret under a new key (then restart every Weft process)."""
    from weft.apps.key_rotation import (
        commit_key_file,
        key_file,
        new_key_material,
        reseal_everything,
        stage_key_file,
    )
    from weft.tenancy.audit import record_deployment_change

    settings = load_settings()
    material = new_key or new_key_material()
    new_settings = settings.model_copy(update={"secret_key": material})
    path = key_file(settings)
    staged = stage_key_file(path, material) if path else None

    async def work(session: AsyncSession) -> Any:
        count = await reseal_everything(settings, new_settings, session=session)
        # Every org's credentials are now sealed under a key it never saw: each org's log says
        # so (the key itself is never written anywhere but its file or the environment).
        await record_deployment_change(
            "re-encrypt secrets under a new deployment key",
            target={"key": "key file" if path else "WEFT_SECRET_KEY"},
            session=session,
        )
        return count

    count = in_transaction(settings, work)
    if path and staged:
        commit_key_file(staged, path)
        where = f"the new key is in {path}"
    else:
        where = "set WEFT_SECRET_KEY to the new key below in every process's environment"
    data = {
        "connections": count.connections,
        "org_secrets": count.org_secrets,
        "webhook_secrets": count.webhook_secrets,
        "key_file": str(path) if path else None,
    }
    if not path:
        data["new_key"] = material
    human = (
        f"re-encrypted {count.connections} connection(s), {count.org_secrets} org secret(s), "
        f"{count.webhook_secrets} webhook secret(s); {where}; restart every Weft process"
        + ("" if path else f"\nWEFT_SECRET_KEY={material}")
    )
    output(as_json, data, human)
