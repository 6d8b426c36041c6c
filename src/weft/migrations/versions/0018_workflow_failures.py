"""workflow failures: a workflow's failed runs in a row, its auto-pause and the throttle of its
`Workflow Errored` notifications

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import weft.store.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("paused_at", weft.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "workflow_failures",
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("last_execution_id", sa.String(length=24), nullable=True),
        sa.Column("last_error", weft.store.types.ValidText(), nullable=True),
        sa.Column("paused_streak", sa.Integer(), nullable=True),
        sa.Column("paused_execution_id", sa.String(length=24), nullable=True),
        sa.Column("paused_error", weft.store.types.ValidText(), nullable=True),
        sa.Column("errored_sent_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("errored_suppressed", sa.Integer(), nullable=False),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workflow_id"),
    )


def downgrade() -> None:
    op.drop_table("workflow_failures")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
