"""steps: drop the index on execution_id alone. The unique key (execution_id, node_id,
iteration) starts with the same column and serves every lookup by run (reading a run's steps,
resuming it, counting them, pruning, the cascade from executions), so each step row, one per
loop pass and body step, kept an index entry that nothing read.

Expand-compatible: older code's queries are served by the unique key's index just as well.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 19:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_steps_execution_id", table_name="steps")


def downgrade() -> None:
    op.create_index("ix_steps_execution_id", "steps", ["execution_id"], unique=False)
