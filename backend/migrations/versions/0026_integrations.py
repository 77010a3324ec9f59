"""integrations: API keys of the PC's systems (hashed, scoped, revocable), their alarms (deduplicated by
the source's key) and the first answers to their idempotency keys

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'integrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('scopes', backend.db.JSONType, nullable=False),
        sa.Column('key_prefix', sa.String(length=20), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_user_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=200), nullable=True),
        sa.Column('last_used_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_used_from', sa.String(length=64), nullable=True),
        sa.Column('mapping', backend.db.JSONType, nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_integrations_organization_id_organizations')),
        sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'],
                                name=op.f('fk_integrations_created_by_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_integrations_key_hash')))
    op.create_index(op.f('ix_integrations_organization_id'), 'integrations', ['organization_id'], unique=False)
    op.create_table(
        'integration_alarms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('integration_id', sa.Integer(), nullable=False),
        sa.Column('alarm_key', sa.String(length=200), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('occurrences', sa.Integer(), nullable=False),
        sa.Column('last_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'],
                                name=op.f('fk_integration_alarms_integration_id_integrations')),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_integration_alarms_event_id_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_alarms')),
        sa.UniqueConstraint('integration_id', 'alarm_key', name=op.f('uq_integration_alarms_integration_id')))
    op.create_index(op.f('ix_integration_alarms_event_id'), 'integration_alarms', ['event_id'], unique=False)
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('integration_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('body', backend.db.JSONType, nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['integration_id'], ['integrations.id'],
                                name=op.f('fk_idempotent_requests_integration_id_integrations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
        sa.UniqueConstraint('integration_id', 'key', name=op.f('uq_idempotent_requests_integration_id')))
    op.create_index('ix_idempotent_requests_created', 'idempotent_requests', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_idempotent_requests_created', table_name='idempotent_requests')
    op.drop_table('idempotent_requests')
    op.drop_index(op.f('ix_integration_alarms_event_id'), table_name='integration_alarms')
    op.drop_table('integration_alarms')
    op.drop_index(op.f('ix_integrations_organization_id'), table_name='integrations')
    op.drop_table('integrations')
