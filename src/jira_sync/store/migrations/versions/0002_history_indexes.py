"""indexes for the last event received and for history retention

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_received", "events", ["integration_id", "received_at"])
    op.create_index("ix_exchanges_at", "exchanges", ["at"])


def downgrade() -> None:
    op.drop_index("ix_exchanges_at", table_name="exchanges")
    op.drop_index("ix_events_received", table_name="events")
