"""public workflows and linked-account configs

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-23 16:30:00

Public (org-level) workflows share the workflow tables with private ones: their
`linked_account_pk` is NULL. A config records which public workflows a linked account runs,
and a public workflow's execution records the config it ran with.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("workflows", "workflow_versions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "linked_account_pk", existing_type=sa.String(length=24), nullable=True
            )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("config", _json(), nullable=True))

    op.create_table(
        "configs",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=24), nullable=False),
        sa.Column("config_id", sa.String(length=200), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("workflows", _json(), nullable=False),
        sa.Column("labels", _json(), nullable=False),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_configs_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_configs_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_configs_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configs")),
        sa.UniqueConstraint("linked_account_pk", "app_id", "config_id", name="uq_configs_key"),
    )
    with op.batch_alter_table("configs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_configs_list",
            ["org_id", "environment", "linked_account_pk", "created_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("configs", schema=None) as batch_op:
        batch_op.drop_index("ix_configs_list")
    op.drop_table("configs")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("config")
        batch_op.drop_column("config_id")
    op.execute("DELETE FROM workflows WHERE linked_account_pk IS NULL")
    for table in ("workflow_versions", "workflows"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                "linked_account_pk", existing_type=sa.String(length=24), nullable=False
            )
