"""recovery of missed webhooks: recovery_state (lease, history cursor, last run), open-incident index

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_state",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("next_run_at", sa.Float(), nullable=False),
        sa.Column("history_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_started_at", sa.Float(), nullable=True),
        sa.Column("last_finished_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_report", sa.JSON(), nullable=True),
        sa.Column("recovered_total", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("integration_id"),
    )
    # the sweep reads an integration's open incidents: an index range, not every incident
    op.create_index("ix_incidents_open", "incidents", ["integration_id", "id"],
                    sqlite_where=sa.text("progress != 'Closed'"), postgresql_where=sa.text("progress != 'Closed'"))


def downgrade() -> None:
    op.drop_index("ix_incidents_open", table_name="incidents")
    op.drop_table("recovery_state")
