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
    synced, erred = sa.text("jira_issue_id IS NOT NULL"), sa.text("last_error IS NOT NULL")
    op.create_index("ix_incidents_synced", "incidents", ["integration_id", "jira_issue_id"],
                    sqlite_where=synced, postgresql_where=synced)
    op.create_index("ix_incidents_last_error", "incidents", ["integration_id", "updated_at"],
                    sqlite_where=erred, postgresql_where=erred)


def downgrade() -> None:
    op.drop_index("ix_incidents_last_error", table_name="incidents")
    op.drop_index("ix_incidents_synced", table_name="incidents")
    op.drop_index("ix_incidents_state_list", table_name="incidents")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
