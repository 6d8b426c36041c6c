"""connections

Revision ID: 0006
Revises: 0008
Create Date: 2026-11-23 16:12:56.887549
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0006"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_events",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("app_slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "sample",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "json_schema",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_app_events_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_events")),
        sa.UniqueConstraint("org_id", "app_slug", "name", name="uq_app_events_name"),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("app_slug", sa.String(length=100), nullable=False),
        sa.Column("auth_type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=True),
        sa.Column("credentials_sealed", sa.Text(), nullable=False),
        sa.Column("expires_at", weft.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_connections_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_connections_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint(
            "org_id", "environment", "linked_account_pk", "app_slug", name="uq_connections_app"
        ),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connections_linked_account_pk"), ["linked_account_pk"], unique=False
        )

    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("app_slug", sa.String(length=100), nullable=False),
        sa.Column("verifier_sealed", sa.Text(), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("expires_at", weft.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_oauth_states_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_oauth_states_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_oauth_states")),
    )
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_states_linked_account_pk"), ["linked_account_pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_states_linked_account_pk"))

    op.drop_table("oauth_states")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_linked_account_pk"))

    op.drop_table("connections")
    op.drop_table("app_events")
