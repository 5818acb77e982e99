"""linked incidents counted in shards (link_counts) instead of one counter on the integration's row

The workers' links all waited on that one row lock (each holding it until its commit reached the
disk); each first link now adds one to the shard of its incident row.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_counts",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("integration_id", "shard"),
    )
    op.execute("INSERT INTO link_counts (integration_id, shard, linked) "
               "SELECT id, 0, synced_count FROM integrations WHERE synced_count <> 0")
    # natively (SQLite 3.35+, PostgreSQL): batch mode would copy the table, and on SQLite dropping
    # the old copy with foreign keys on deletes every incident (ON DELETE CASCADE). On an older
    # SQLite the unused column stays; it has a default.
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or bind.dialect.dbapi.sqlite_version_info >= (3, 35):
        op.execute("ALTER TABLE integrations DROP COLUMN synced_count")


def downgrade() -> None:
    op.add_column("integrations", sa.Column("synced_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE integrations SET synced_count = (SELECT coalesce(sum(linked), 0) FROM link_counts "
               "WHERE link_counts.integration_id = integrations.id)")
    op.drop_table("link_counts")
