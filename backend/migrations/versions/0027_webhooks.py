"""webhooks out: a commune's subscriptions and their deliveries

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('kinds', backend.db.JSONType, nullable=False),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('disabled_reason', sa.String(length=300), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_subscriptions_organization_id', 'webhook_subscriptions', ['organization_id'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('trace_entry_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('due_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('claim_until', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('response_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('data', backend.db.JSONType, nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['webhook_subscriptions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.ForeignKeyConstraint(['trace_entry_id'], ['trace_entries.id']),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'due_at'])
    op.create_index('ix_webhook_deliveries_subscription', 'webhook_deliveries', ['subscription_id', 'created_at'])
    op.create_index('ix_webhook_deliveries_organization_id', 'webhook_deliveries', ['organization_id'])
    op.create_index('ix_webhook_deliveries_trace_entry_id', 'webhook_deliveries', ['trace_entry_id'])


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
