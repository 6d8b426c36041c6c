"""Table definitions. Tenant tables carry the scope columns the store layer filters on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from weft.store.types import JSONType, UTCDateTime, ValidText

ID = String(24)

naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming)


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    environment: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LinkedAccount(Base):
    __tablename__ = "linked_accounts"
    __table_args__ = (
        UniqueConstraint("org_id", "environment", "account_id", name="uq_linked_accounts_scope"),
        Index("ix_linked_accounts_list", "org_id", "environment", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    udf: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SessionToken(Base):
    __tablename__ = "session_tokens"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConnectLink(Base):
    """A hosted Connect portal link (`POST /connect-url`): one linked account, single use.

    Only the link's hash is kept; `used_at` is set when the link is exchanged for a page session.
    `theme` holds the request's `color`, `bgColor` and `name`; `apps` the slugs shown (None: all).
    """

    __tablename__ = "connect_links"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    theme: Mapped[dict[str, Any]] = mapped_column(JSONType)
    apps: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class App(Base):
    """An application. `org_id` NULL: the shared catalog; set: an org's own (its default app)."""

    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("org_id", "slug", name="uq_apps_org_slug"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    slug: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str] = mapped_column(String(200))
    icon: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    auth_type: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Shared rows: the sha256 of the shipped file they were made from, so a start reads only
    # the files that changed (apps.catalog.ensure_catalog).
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Workflow(Base):
    __tablename__ = "workflows"
    __table_args__ = (
        Index(
            "ix_workflows_list", "org_id", "environment", "linked_account_pk", "created_at", "id"
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    # NULL: a public (org-level) workflow; store.scope.PublicScope is the only way to reach it.
    linked_account_pk: Mapped[str | None] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), nullable=True
    )
    app_id: Mapped[str] = mapped_column(ID, ForeignKey("apps.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    draft_id: Mapped[str | None] = mapped_column(ID, nullable=True, unique=True)
    # +1 on every change of the draft (save, restore, discard, publish): editors send the one
    # they loaded, and a save against another answers 409 instead of overwriting.
    draft_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    webhook_secret: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    trigger: Mapped[str | None] = mapped_column(String(20), nullable=True)
    trigger_event: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the workflow paused itself after too many failed runs in a row
    # (engine.runs.failure_streaks): its triggers are refused until it is resumed.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkflowFailures(Base):
    """A workflow's failed runs in a row (reset by a success), why it paused, and the throttle
    of its `Workflow Errored` notifications. A row exists once a run of the workflow failed."""

    __tablename__ = "workflow_failures"
    workflow_id: Mapped[str] = mapped_column(
        ID, ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    streak: Mapped[int] = mapped_column(Integer, default=0)
    last_execution_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    last_error: Mapped[str | None] = mapped_column(ValidText, nullable=True)
    # The streak that paused the workflow and the failed run that reached it.
    paused_streak: Mapped[int | None] = mapped_column(Integer, nullable=True)
    paused_execution_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    paused_error: Mapped[str | None] = mapped_column(ValidText, nullable=True)
    errored_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    errored_suppressed: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkflowVersion(Base):
    """A snapshot of a workflow's graph: `version` NULL is the draft, 1..N are published."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_number"),
        Index("ix_workflow_versions_list", "workflow_id", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ID, ForeignKey("workflows.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str | None] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), nullable=True
    )
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    edges: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Sticky notes (workflows.annotations): never read by the engine. NULL: none.
    notes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    # The draft's pinned test outputs by node id (published versions keep none). NULL: none.
    pinned: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkflowDraftId(Base):
    """Every draft id a workflow has handed out, so old ids resolve or explain themselves.

    `origin` marks the id create answered: Refold clients keep it as the workflow's id for
    good. Scoped through its workflow (every lookup joins `workflows`), so no scope columns.
    """

    __tablename__ = "workflow_draft_ids"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        ID, ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Execution(Base):
    """One run of one workflow version for one linked account.

    `due_at` drives the queue: a queued run is due at once, a waiting one at its wake time, a
    running one when its lease expires (so a crashed worker's run is reclaimed). Finished runs
    have no `due_at` and drop out of the partial claim index.
    """

    __tablename__ = "executions"
    __table_args__ = (
        Index(
            "ix_executions_due",
            "due_at",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_executions_list", "org_id", "environment", "linked_account_pk", "created_at", "id"
        ),
        Index("ix_executions_workflow", "workflow_id", "created_at"),
        Index("ix_executions_parent", "parent_execution_id"),
        Index(  # retention's search (engine.runs.retention)
            "ix_executions_finished",
            "finished_at",
            postgresql_where=text("finished_at IS NOT NULL"),
            sqlite_where=text("finished_at IS NOT NULL"),
        ),
        UniqueConstraint(
            "org_id",
            "environment",
            "linked_account_pk",
            "idempotency_key",
            name="uq_executions_idempotency",
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE")
    )
    workflow_id: Mapped[str] = mapped_column(ID, ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    test_graph: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(20))
    input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    response: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[Any] = mapped_column(JSONType, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    parent_execution_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    # A public workflow's run: the linked account's config it runs with, and its values then.
    config_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    config: Mapped[Any] = mapped_column(JSONType, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftReplay(Base):
    """A "what changes if I publish" replay: live runs of a workflow replayed through its draft
    as safe test runs. `runs` pairs each live run with its test run, newest live run first."""

    __tablename__ = "draft_replays"
    __table_args__ = (Index("ix_draft_replays_workflow", "workflow_id", "created_at"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE")
    )
    workflow_id: Mapped[str] = mapped_column(ID, ForeignKey("workflows.id", ondelete="CASCADE"))
    requested: Mapped[int] = mapped_column(Integer)
    runs: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Step(Base):
    """One node's run inside an execution; `iteration` is the loop path ('' outside loops)."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("execution_id", "node_id", "iteration", name="uq_steps_key"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # No index of its own: uq_steps_key starts with it and serves every lookup by run.
    execution_id: Mapped[str] = mapped_column(ID, ForeignKey("executions.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    node_type: Mapped[str] = mapped_column(String(30))
    node_name: Mapped[str] = mapped_column(String(200))
    iteration: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12))
    branch: Mapped[str | None] = mapped_column(String(100), nullable=True)
    input: Mapped[Any] = mapped_column(JSONType, nullable=True)
    output: Mapped[Any] = mapped_column(JSONType, nullable=True)
    error: Mapped[Any] = mapped_column(JSONType, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    logs: Mapped[Any] = mapped_column(JSONType, nullable=True)


class Config(Base):
    """A linked account's config of one app: which public workflows run, and its values.

    `fields` holds the app-level values by name; `workflows` maps a public workflow's id to
    `{"enabled": bool, "fields": {dataslot name: value}}`; `labels` are the SDK's label mappings.
    """

    __tablename__ = "configs"
    __table_args__ = (
        UniqueConstraint("linked_account_pk", "app_id", "config_id", name="uq_configs_key"),
        Index("ix_configs_list", "org_id", "environment", "linked_account_pk", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE")
    )
    app_id: Mapped[str] = mapped_column(ID, ForeignKey("apps.id", ondelete="CASCADE"))
    config_id: Mapped[str] = mapped_column(String(200))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    workflows: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    labels: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Schedule(Base):
    """A live workflow's cron trigger and the next tick it is due at."""

    __tablename__ = "schedules"
    workflow_id: Mapped[str] = mapped_column(
        ID, ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    next_fire_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AppTrigger(Base):
    """A live workflow's app trigger (engine.starts.app_triggers): its poll state or webhook.

    `status`: `starting` (published; the worker resolves the kind and subscribes), `live`,
    `stopping` (unpublished or deleted: the worker unsubscribes, then deletes the row; the
    row has let go of its workflow by then, so the workflow may go). `due_at` drives the
    poller as it drives the run queue; `lease_owner` fences the poller that claimed it.
    """

    __tablename__ = "app_triggers"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("workflows.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    app: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    kind: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    # Polling: {primed, cursor, seen}. Webhook: {subscription_id, secret_sealed}.
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    last_error: Mapped[str | None] = mapped_column(ValidText, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationSubscription(Base):
    """An org's notification webhook: the URL, the events it wants, its sealed signing secret."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (
        Index("ix_notification_subscriptions_list", "org_id", "environment", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSONType)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # AES-GCM ciphertext (weft.crypto, signing purpose): the secret must be recoverable to sign.
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NotificationDelivery(Base):
    """The outbox: one event for one subscription, sent and retried by the dispatcher.

    `due_at` is set while the row is pending (the next attempt, or the lease of the attempt in
    flight) and NULL once delivered or failed, so finished rows drop out of the claim index.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index(
            "ix_notification_deliveries_due",
            "due_at",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_notification_deliveries_finished",
            "updated_at",
            postgresql_where=text("due_at IS NULL"),
            sqlite_where=text("due_at IS NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        ID,
        # Named here: the conventional name would pass PostgreSQL's 63-character limit.
        ForeignKey(
            "notification_subscriptions.id",
            ondelete="CASCADE",
            name="fk_notification_deliveries_subscription",
        ),
        index=True,
    )
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(ValidText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Connection(Base):
    """A linked account's credentials for one app, sealed with AES-GCM (weft.apps.connections)."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint(
            "org_id", "environment", "linked_account_pk", "app_slug", name="uq_connections_app"
        ),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    app_slug: Mapped[str] = mapped_column(String(100))
    auth_type: Mapped[str] = mapped_column(String(20))
    # `connected`, or `reauth_required` once a refresh was refused (the user must connect again).
    status: Mapped[str] = mapped_column(String(20))
    # A label safe to show (the key's last characters, the OAuth scopes granted); never a secret.
    identifier: Mapped[str | None] = mapped_column(String(200), nullable=True)
    credentials_sealed: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set while one process refreshes the OAuth2 tokens (weft.apps.refresh): the others wait for
    # its tokens instead of spending the refresh token again. Lapses if that process dies.
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OAuthState(Base):
    """One OAuth2 authorization in flight: its state (hashed) and sealed PKCE verifier."""

    __tablename__ = "oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    app_slug: Mapped[str] = mapped_column(String(100))
    verifier_sealed: Mapped[str] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The hash of the nonce in the cookie of the browser that opened the start page (set once,
    # there); the callback requires that cookie (weft.apps.oauth_browser).
    browser_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AppEvent(Base):
    """An event an org defines for one of its apps: its name and a sample payload."""

    __tablename__ = "app_events"
    __table_args__ = (UniqueConstraint("org_id", "app_slug", "name", name="uq_app_events_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    app_slug: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    sample: Mapped[Any] = mapped_column(JSONType, nullable=True)
    json_schema: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RateWindow(Base):
    """Hits counted against one rate limit (`bucket`) in one fixed window (PostgreSQL only:
    SQLite deployments serve the API from one process and count in memory)."""

    __tablename__ = "rate_windows"
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """One change made through the API (or a key rotation): who, what, when, which request."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_list", "org_id", "environment", "created_at", "id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(20))
    linked_account_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(200))
    target: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class McpServer(Base):
    """A linked account's MCP server (Refold's `mcp-servers`): which apps' actions and which
    workflows it offers as tools, how (`mode`: `direct`, one tool each, or `agent`,
    RESOLVE_ACTIONS + EXECUTE_ACTION), and whether write actions are withheld (`read_only`).
    `token_hash`: the protocol URL's token (`/mcp/v1/{token}/{id}`), kept hashed like session
    tokens; it acts for this account on this server only."""

    __tablename__ = "mcp_servers"
    __table_args__ = (Index("ix_mcp_servers_list", "org_id", "environment", "created_at", "id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    linked_account_pk: Mapped[str] = mapped_column(
        ID, ForeignKey("linked_accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(10), default="direct")
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    suggestions: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    chains: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    associated_apps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class McpCall(Base):
    """One tool call made on an MCP server (arguments redacted), for the org's call log."""

    __tablename__ = "mcp_calls"
    __table_args__ = (Index("ix_mcp_calls_list", "server_id", "created_at", "id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    server_id: Mapped[str] = mapped_column(ID, ForeignKey("mcp_servers.id", ondelete="CASCADE"))
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(300))
    app: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str | None] = mapped_column(String(200), nullable=True)
    arguments: Mapped[Any] = mapped_column(JSONType, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(ValidText, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkflowTemplate(Base):
    """A workflow the org offers its linked accounts to start from (apps.templates).

    Its content is one published version of one of the org's public workflows, pinned by
    `version_id`: published versions never change, so neither does the template until the org
    points it at another. `inputs` is the JSON Schema of what a host may inject, each property
    saying where in the graph its value goes (`x-weft-targets`).
    """

    __tablename__ = "workflow_templates"
    __table_args__ = (
        UniqueConstraint("org_id", "environment", "key", name="uq_workflow_templates_key"),
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(ID, ForeignKey("orgs.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    workflow_id: Mapped[str] = mapped_column(ID, ForeignKey("workflows.id", ondelete="CASCADE"))
    version_id: Mapped[str] = mapped_column(
        ID, ForeignKey("workflow_versions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100), default="")
    icon: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    required_apps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsageDaily(Base):
    """What one linked account's runs of one workflow used on one UTC day: added to by the group
    commit that ends each run (engine.writes), so it is exact and lands with the end or not at
    all. `code_ms`: time spent in code steps (the sandbox's wall time, a bound on its CPU)."""

    __tablename__ = "usage_daily"
    org_id: Mapped[str] = mapped_column(ID, primary_key=True)
    environment: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    linked_account_pk: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ID, primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    steps: Mapped[int] = mapped_column(BigInteger, default=0)
    action_calls: Mapped[int] = mapped_column(BigInteger, default=0)
    code_ms: Mapped[int] = mapped_column(BigInteger, default=0)


# A usage_daily row's key and the counts added to it.
USAGE_KEY = ("org_id", "environment", "day", "linked_account_pk", "workflow_id")
USAGE_COUNTS = ("runs", "steps", "action_calls", "code_ms")


class Quota(Base):
    """An org's limits (`linked_account_pk` empty) or one linked account's; None: no limit."""

    __tablename__ = "quotas"
    org_id: Mapped[str] = mapped_column(
        ID, ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(20), primary_key=True)
    linked_account_pk: Mapped[str] = mapped_column(String(24), primary_key=True)
    runs_per_month: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    concurrent_runs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    steps_per_run: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action_calls_per_day: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuotaCounter(Base):
    """How much of a quota one period used (`runs_per_month`: runs started), and whether the org
    was told it reached it: reserved by a conditional update in the transaction that queues the
    run, so concurrent starts past the limit are refused exactly."""

    __tablename__ = "quota_counters"
    org_id: Mapped[str] = mapped_column(ID, primary_key=True)
    environment: Mapped[str] = mapped_column(String(20), primary_key=True)
    linked_account_pk: Mapped[str] = mapped_column(String(24), primary_key=True)
    quota: Mapped[str] = mapped_column(String(30), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)  # 2026-12 or 2026-12-06
    used: Mapped[int] = mapped_column(BigInteger, default=0)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
