"""mcp servers: a linked account's MCP servers and the log of their tool calls

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import weft.store.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _when() -> weft.store.types.UTCDateTime:
    return weft.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("linked_account_pk", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("suggestions", _json(), nullable=False),
        sa.Column("chains", _json(), nullable=False),
        sa.Column("associated_apps", _json(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_account_pk"],
            ["linked_accounts.id"],
            name=op.f("fk_mcp_servers_linked_account_pk_linked_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_mcp_servers_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_servers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_mcp_servers_token_hash")),
    )
    with op.batch_alter_table("mcp_servers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mcp_servers_list", ["org_id", "environment", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mcp_servers_linked_account_pk"), ["linked_account_pk"], unique=False
        )
    op.create_table(
        "mcp_calls",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("server_id", sa.String(length=24), nullable=False),
        sa.Column("org_id", sa.String(length=24), nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("tool", sa.String(length=300), nullable=False),
        sa.Column("app", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=True),
        sa.Column("arguments", _json(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_mcp_calls_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["mcp_servers.id"],
            name=op.f("fk_mcp_calls_server_id_mcp_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_calls")),
    )
    with op.batch_alter_table("mcp_calls", schema=None) as batch_op:
        batch_op.create_index("ix_mcp_calls_list", ["server_id", "created_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mcp_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_mcp_calls_list")
    op.drop_table("mcp_calls")
    with op.batch_alter_table("mcp_servers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mcp_servers_linked_account_pk"))
        batch_op.drop_index("ix_mcp_servers_list")
    op.drop_table("mcp_servers")
