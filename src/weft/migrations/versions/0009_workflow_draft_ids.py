"""workflow draft ids: every draft id a workflow handed out (create's keeps resolving)

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-23 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import weft.store.types

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_draft_ids",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("origin", sa.Boolean(), nullable=False),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_draft_ids_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_draft_ids")),
    )
    with op.batch_alter_table("workflow_draft_ids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflow_draft_ids_workflow_id"), ["workflow_id"], unique=False
        )
    # Workflows created before this revision: a never-published one's draft is create's id.
    op.execute(
        "INSERT INTO workflow_draft_ids (id, workflow_id, origin, created_at) "
        "SELECT draft_id, id, current_version = 0, created_at FROM workflows "
        "WHERE draft_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("workflow_draft_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_draft_ids_workflow_id"))
    op.drop_table("workflow_draft_ids")
