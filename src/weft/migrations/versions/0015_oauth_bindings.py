"""oauth bindings: a connection's refresh lease (one refresh at a time across processes) and the
browser binding of an authorization in flight (the hash of the nonce its cookie holds)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import weft.store.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refresh_lease_until",
                weft.store.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.drop_column("browser_hash")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("refresh_lease_until")
