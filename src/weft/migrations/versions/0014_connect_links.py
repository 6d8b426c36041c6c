"""connect links: single-use links to the hosted Connect portal, kept hashed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 11:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when() -> weft.store.types.UTCDateTime:
    return weft.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "connect_links",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("link_hash", sa.String(length=64), nullable=False),
        sa.Column("theme", _json(), nullable=False),
        sa.Column("apps", _json(), nullable=True),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("used_at", _when(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_connect_links_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_connect_links_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_links")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_connect_links_link_hash")),
    )
    with op.batch_alter_table("connect_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connect_links_linked_account_pk"), ["linked_account_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("connect_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connect_links_linked_account_pk"))
    op.drop_table("connect_links")
