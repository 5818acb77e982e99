"""two-way sync: inbound Jira events, mirrored comments, the polling cursor, per-side last values

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("jira_webhook_secret_enc", sa.Text(), nullable=True))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("jira_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("jira_synced_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("jira_seen_status", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("jira_seen_priority", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("fd_written_progress", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("fd_written_severity", sa.String(length=16), nullable=True))
    op.create_table(
        "jira_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=False),
        sa.Column("issue_id", sa.String(length=32), nullable=True),
        sa.Column("incident_row_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_row_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration_id", "delivery_id", name="uq_jira_events_delivery"),
    )
    op.create_index("ix_jira_events_incident", "jira_events", ["incident_row_id", "id"])
    op.create_index("ix_jira_events_received", "jira_events", ["received_at"])
    op.create_table(
        "mirrored_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_row_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["incident_row_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_row_id", "ref", name="uq_mirrored_comments_ref"),
    )
    op.create_table(
        "jira_poll_state",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("next_run_at", sa.Float(), nullable=False),
        sa.Column("cursor", sa.Float(), nullable=True),
        sa.Column("last_finished_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_report", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("integration_id"),
    )


def downgrade() -> None:
    op.drop_table("jira_poll_state")
    op.drop_table("mirrored_comments")
    op.drop_index("ix_jira_events_received", table_name="jira_events")
    op.drop_index("ix_jira_events_incident", table_name="jira_events")
    op.drop_table("jira_events")
    with op.batch_alter_table("incidents") as batch:
        for name in ("fd_written_severity", "fd_written_progress", "jira_seen_priority", "jira_seen_status",
                     "jira_synced_seq", "jira_seq"):
            batch.drop_column(name)
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("jira_webhook_secret_enc")
