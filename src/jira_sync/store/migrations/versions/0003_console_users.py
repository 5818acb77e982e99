"""console: users (Argon2id password hashes), sessions (token hashes), list-page indexes

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_login_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["console_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_incidents_state_list", "incidents", ["integration_id", "state", "id"])
    erred = sa.text("last_error IS NOT NULL")
    op.create_index("ix_incidents_last_error", "incidents", ["integration_id", "updated_at"],
                    sqlite_where=erred, postgresql_where=erred)
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("synced_count", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE integrations SET synced_count = (SELECT count(*) FROM incidents"
        " WHERE incidents.integration_id = integrations.id AND incidents.jira_issue_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("synced_count")
    op.drop_index("ix_incidents_last_error", table_name="incidents")
    op.drop_index("ix_incidents_state_list", table_name="incidents")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
