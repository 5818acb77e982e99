"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 08:13:04.073224
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('integrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('jira_secret_enc', sa.Text(), nullable=False),
    sa.Column('flashduty_app_key_enc', sa.Text(), nullable=True),
    sa.Column('webhook_secret_hash', sa.String(length=64), nullable=False),
    sa.Column('jira_meta', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('event_time', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('integration_id', 'event_id', name='uq_events_integration_event')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_incident', ['integration_id', 'incident_id', 'id'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.String(length=128), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('snapshot_time', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.String(length=16), nullable=False),
    sa.Column('activated', sa.Boolean(), nullable=False),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.Column('synced_seq', sa.Integer(), nullable=False),
    sa.Column('comment_seq', sa.Integer(), nullable=False),
    sa.Column('comment_synced_seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('pending_since', sa.Float(), nullable=True),
    sa.Column('due_at', sa.Float(), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.Float(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('create_state', sa.String(length=16), nullable=True),
    sa.Column('jira_issue_id', sa.String(length=32), nullable=True),
    sa.Column('jira_issue_key', sa.String(length=64), nullable=True),
    sa.Column('jira_status_id', sa.String(length=32), nullable=True),
    sa.Column('jira_status', sa.String(length=255), nullable=True),
    sa.Column('jira_priority_id', sa.String(length=32), nullable=True),
    sa.Column('last_synced_at', sa.Float(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('integration_id', 'incident_id', name='uq_incidents_integration_incident')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_list', ['integration_id', 'id'], unique=False)
        batch_op.create_index('ix_incidents_queue', ['state', 'due_at'], unique=False)

    op.create_table('comments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_row_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('jira_comment_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['incident_row_id'], ['incidents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_row_id', 'source_id', name='uq_comments_incident_source')
    )
    op.create_table('exchanges',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_row_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('request_body', sa.JSON(), nullable=True),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['incident_row_id'], ['incidents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exchanges', schema=None) as batch_op:
        batch_op.create_index('ix_exchanges_incident', ['incident_row_id', 'id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('exchanges', schema=None) as batch_op:
        batch_op.drop_index('ix_exchanges_incident')

    op.drop_table('exchanges')
    op.drop_table('comments')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_queue')
        batch_op.drop_index('ix_incidents_list')

    op.drop_table('incidents')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_incident')

    op.drop_table('events')
    op.drop_table('integrations')

