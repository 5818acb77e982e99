"""incidents: what a create whose answer was lost needs to be resolved by consistent reads
(the lowest possible issue number, when it was sent), and whether the recorded Jira state may
be stale (a reconcile was cut off after writing)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("create_floor", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("create_sent_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("jira_unverified", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("jira_unverified")
        batch.drop_column("create_sent_at")
        batch.drop_column("create_floor")
