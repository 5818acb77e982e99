"""sync that holds in the field: worker heartbeats, Jira site pauses, how long an incident has failed

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "jira_sites",
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.Column("next_probe_at", sa.Float(), nullable=True),
        sa.Column("resume_at", sa.Float(), nullable=True),
        sa.Column("probes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("failing_since", sa.Float(), nullable=True))
    leased = sa.text("lease_owner IS NOT NULL")
    op.create_index("ix_incidents_leased", "incidents", ["lease_owner"], sqlite_where=leased, postgresql_where=leased)


def downgrade() -> None:
    op.drop_index("ix_incidents_leased", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("failing_since")
    op.drop_table("jira_sites")
    op.drop_table("workers")
