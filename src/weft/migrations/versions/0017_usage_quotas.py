"""usage and quotas: what each account's runs used per day, and the org's and accounts' quotas
with their counters

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import weft.store.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.Column("steps", sa.BigInteger(), nullable=False),
        sa.Column("action_calls", sa.BigInteger(), nullable=False),
        sa.Column("code_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id",
            "environment",
            "day",
            "linked_account_pk",
            "workflow_id",
            name=op.f("pk_usage_daily"),
        ),
    )
    op.create_table(
        "quotas",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("runs_per_month", sa.BigInteger(), nullable=True),
        sa.Column("concurrent_runs", sa.Integer(), nullable=True),
        sa.Column("steps_per_run", sa.Integer(), nullable=True),
        sa.Column("action_calls_per_day", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_quotas_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "environment", "linked_account_pk", name=op.f("pk_quotas")
        ),
    )
    op.create_table(
        "quota_counters",
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("quota", sa.String(length=30), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id",
            "environment",
            "linked_account_pk",
            "quota",
            "period",
            name=op.f("pk_quota_counters"),
        ),
    )


def downgrade() -> None:
    op.drop_table("quota_counters")
    op.drop_table("quotas")
    op.drop_table("usage_daily")
