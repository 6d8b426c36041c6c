"""workflow templates: published versions of public workflows the org offers its linked
accounts to start from, with the inputs a host may inject

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when() -> weft.store.types.UTCDateTime:
    return weft.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workflow_templates",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("version_id", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("icon", sa.String(length=2000), nullable=True),
        sa.Column("required_apps", _json(), nullable=False),
        sa.Column("inputs", _json(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_workflow_templates_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_templates_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["workflow_versions.id"],
            name=op.f("fk_workflow_templates_version_id_workflow_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_templates")),
        sa.UniqueConstraint("org_id", "environment", "key", name="uq_workflow_templates_key"),
    )
    with op.batch_alter_table("workflow_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_templates_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_templates_version_id"))
    op.drop_table("workflow_templates")
