"""draft notes and pins: sticky notes of a version and the draft's pinned test outputs

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 18:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("workflow_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", _JSON, nullable=True))
        batch_op.add_column(sa.Column("pinned", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_versions", schema=None) as batch_op:
        batch_op.drop_column("pinned")
        batch_op.drop_column("notes")
