"""Every knob Weft has, read from the environment with the prefix WEFT_."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; each field maps to `WEFT_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="WEFT_", extra="ignore")

    data_dir: Path = Field(Path(".weft"), description="Embedded database, secret key, demo file.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; default: SQLite file in data_dir. "
        "PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(None, description="Base URL printed and used in links.")
    secret_key: str | None = Field(
        None, description="AES key (urlsafe base64, 32 bytes); generated into data_dir if unset."
    )
    max_body_bytes: int = Field(1024 * 1024, description="Larger request bodies get 413.")
    max_json_depth: int = Field(64, description="Request bodies nested deeper get 400.")
    max_import_bytes: int = Field(
        10 * 1024 * 1024,
        description="Larger bodies of POST /application/import (an OpenAPI document) get 413.",
    )
    session_token_ttl_s: int = Field(24 * 3600, description="Default session-token lifetime.")
    session_token_max_ttl_s: int = Field(30 * 24 * 3600)
    outbound_allow: str = Field(
        "", description="Comma-separated hosts/CIDRs outbound requests may reach despite the guard."
    )
    outbound_org_allow: str = Field(
        "",
        description="Hosts/CIDRs (same syntax) an org may open to its own workflows in its "
        "outbound_allow setting; empty: orgs open nothing beyond outbound_allow.",
    )
    sqlite_busy_timeout_ms: int = 30000
    rate_limit_api_key: int = Field(
        6000, description="Requests one org API key may make per minute (0: no limit)."
    )
    rate_limit_session_token: int = Field(
        1200, description="Requests one session token may make per minute (0: no limit)."
    )
    rate_limit_failed_auth: int = Field(
        600, description="Failed authentications one source address may make per minute."
    )
    rate_limit_webhook: int = Field(
        1200, description="Calls one webhook URL may take per minute (0: no limit)."
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For "
        "names the client; empty: the TCP peer is the client and the header is ignored.",
    )

    # Engine
    processes: str = Field(
        "auto",
        description="Processes `weft serve` runs on its port, each with API and worker: a "
        "number, or auto (one per available core; on SQLite at most 4).",
    )
    db_connections: int = Field(
        16,
        description="PostgreSQL connections one process may hold: SQLAlchemy's pool and its "
        "overflow, the group commits' pool and the LISTEN connection all come out of it "
        "(store.budget). A deployment holds at most processes x this; `weft serve` refuses "
        "to start more processes than max_connections allows (auto starts as many as fit).",
        ge=4,
    )
    process_boot_timeout_s: float = Field(
        120.0,
        description="How long each of `weft serve`'s processes may take to start serving (import, "
        "app start) before it is restarted; raise it on a slow machine or disk.",
    )
    process_health_timeout_s: float = Field(
        30.0,
        description="How long a serving process may leave its supervisor's health check "
        "unanswered before it is restarted.",
    )
    workers: int = Field(1, description="In-process worker loops `weft serve` runs (0: none).")
    worker_concurrency: int = Field(32, description="Executions one worker runs at once.")
    account_concurrency: int = Field(
        16, description="Running executions one linked account may have across all workers."
    )
    direct_execution: bool = Field(
        True,
        description="Run a triggered execution in the process that received the trigger when "
        "one of its workers has a free slot (no queue round-trip); false: always queue.",
    )
    lease_s: float = Field(30.0, description="A claim's lease; renewed while the run goes on.")
    poll_s: float = Field(0.5, description="How often idle workers look for due work.")
    execution_timeout_s: float = Field(3600.0, description="Longest a run may take overall.")
    node_timeout_s: float = Field(300.0, description="Default per-node time limit.")
    sync_timeout_s: float = Field(30.0, description="How long sync callers wait for a respond.")
    expression_timeout_ms: int = Field(250, description="Time limit of one expression.")
    expression_max_depth: int = Field(200, description="Recursion limit of one expression.")
    expression_native: bool = Field(
        True,
        description="Evaluate expressions with jlens (Rust) in helper processes, jsonata-python "
        "where jlens declines; false: jsonata-python only.",
    )
    loop_max_items: int = Field(10_000, description="Most items one loop node runs over.")
    subworkflow_max_depth: int = Field(8, description="Deepest nesting of sub-workflow runs.")
    runs_per_trigger: int = Field(
        100, description="Most runs one trigger's run may start through sub-workflows, in all."
    )
    code_workers: int = Field(2, description="Subprocesses that run code nodes.")
    code_pool_account_share: int = Field(
        0,
        description="Most code workers one linked account may hold at once; waiting code steps "
        "take turns across accounts (0: half of code_workers, at least 1). Code whose recent "
        "calls were quick may use idle workers past it while no other account waits, each call "
        "for at most 250 ms (then it runs again within the share).",
    )
    idempotency_window_s: int = Field(24 * 3600, description="How long idempotency keys dedupe.")
    retention_days: float = Field(
        30.0, description="Finished executions and their steps are kept this many days."
    )
    workflow_errored_window_s: float = Field(
        300.0,
        ge=0,
        description="At most one `Workflow Errored` notification per workflow in this window; "
        "the next one carries how many were held back (`suppressed`). 0: every failure notifies.",
    )
    log_level: str = "info"
    log_format: str = Field("json", description="json (one object per line) or text.")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        _networks(value)  # a typo here would silently trust nothing, or the wrong hosts
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """WEFT_TRUSTED_PROXIES as networks (a bare address is a network of one)."""
        return _networks(self.trusted_proxies)

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the setting, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'weft.db').resolve()}"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file in use, or None on PostgreSQL (or SQLite in memory)."""
        url = self.resolved_database_url
        if not url.startswith("sqlite") or ":///" not in url:
            return None
        path = url.split(":///", 1)[1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    @property
    def base_url(self) -> str:
        """Where clients reach this server (a wildcard listen address is reached on loopback)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ValueError(f"WEFT_TRUSTED_PROXIES: {error}") from None
