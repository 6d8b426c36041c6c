"""draft replays: "what changes if I publish", live runs replayed through the draft as safe
test runs (issue #22 point 10)

Expand-only: a new table that older code never reads.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "draft_replays",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("workflow_id", sa.String(length=24), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("runs", _json(), nullable=False),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_draft_replays_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_draft_replays_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_draft_replays_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_replays")),
    )
    op.create_index(
        "ix_draft_replays_workflow", "draft_replays", ["workflow_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_draft_replays_workflow", table_name="draft_replays")
    op.drop_table("draft_replays")
