"""executions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:34:08.152910
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "executions",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column(
            "test_graph",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column(
            "input",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("parent_execution_id", sa.String(length=24), nullable=True),
        sa.Column("due_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_executions_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_executions_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_executions_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint(
            "org_id",
            "environment",
            "linked_account_pk",
            "idempotency_key",
            name="uq_executions_idempotency",
        ),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executions_due",
            ["due_at"],
            unique=False,
            postgresql_where=sa.text("due_at IS NOT NULL"),
            sqlite_where=sa.text("due_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_executions_list",
            ["org_id", "environment", "linked_account_pk", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_executions_parent", ["parent_execution_id"], unique=False)
        batch_op.create_index("ix_executions_workflow", ["workflow_id", "created_at"], unique=False)

    op.create_table(
        "schedules",
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("next_fire_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_schedules_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workflow_id", name=op.f("pk_schedules")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedules_next_fire_at"), ["next_fire_at"], unique=False
        )

    op.create_table(
        "steps",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("execution_id", sa.String(length=24), nullable=False),
        sa.Column("node_id", sa.String(length=100), nullable=False),
        sa.Column("node_type", sa.String(length=30), nullable=False),
        sa.Column("node_name", sa.String(length=200), nullable=False),
        sa.Column("iteration", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("branch", sa.String(length=100), nullable=True),
        sa.Column(
            "input",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "error",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column(
            "logs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_steps_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("execution_id", "node_id", "iteration", name="uq_steps_key"),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_steps_execution_id"), ["execution_id"], unique=False)

    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("trigger", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("trigger_event", sa.String(length=200), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_workflows_trigger_event"), ["trigger_event"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_workflows_webhook_secret"), ["webhook_secret"]
        )


def downgrade() -> None:

    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_workflows_webhook_secret"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_workflows_trigger_event"))
        batch_op.drop_column("trigger_event")
        batch_op.drop_column("trigger")
        batch_op.drop_column("webhook_secret")

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_execution_id"))

    op.drop_table("steps")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedules_next_fire_at"))

    op.drop_table("schedules")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_workflow")
        batch_op.drop_index("ix_executions_parent")
        batch_op.drop_index("ix_executions_list")
        batch_op.drop_index(
            "ix_executions_due",
            postgresql_where=sa.text("due_at IS NOT NULL"),
            sqlite_where=sa.text("due_at IS NOT NULL"),
        )

    op.drop_table("executions")
