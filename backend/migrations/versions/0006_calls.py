"""the call log and the alerts that bypassed the PC

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 08:04:49.663793
"""
from alembic import op
import sqlalchemy as sa
import backend.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bypassed_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('category', sa.String(length=200), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_bypassed_alerts_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_bypassed_alerts_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bypassed_alerts'))
    )
    with op.batch_alter_table('bypassed_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bypassed_alerts_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bypassed_alerts_organization_id'), ['organization_id'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('answered_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('caller_category', sa.String(length=20), nullable=False),
    sa.Column('caller_number', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_calls_event_id_events')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_calls_organization_id_organizations')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_calls_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('external_id', name=op.f('uq_calls_external_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_calls_org_received', ['organization_id', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_org_received')
        batch_op.drop_index(batch_op.f('ix_calls_event_id'))

    op.drop_table('calls')
    with op.batch_alter_table('bypassed_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bypassed_alerts_organization_id'))
        batch_op.drop_index(batch_op.f('ix_bypassed_alerts_occurred_at'))

    op.drop_table('bypassed_alerts')
