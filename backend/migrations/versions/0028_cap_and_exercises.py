"""drills (events.exercise) and the CAP 1.2 alerts taken, once each by sender and identifier

Revision ID: 0028
Revises: 0030
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0028'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in a batch: on SQLite that copies the events table, which pages and the trace refer to.
    op.add_column('events', sa.Column('exercise', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'cap_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('sender', sa.String(length=255), nullable=False),
        sa.Column('identifier', sa.String(length=255), nullable=False),
        sa.Column('msg_type', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id']),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('organization_id', 'sender', 'identifier', name='uq_cap_alerts_sender_identifier'),
    )
    op.create_index('ix_cap_alerts_event_id', 'cap_alerts', ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cap_alerts_event_id', table_name='cap_alerts')
    op.drop_table('cap_alerts')
    op.drop_column('events', 'exercise')  # SQLite 3.35+ drops it in place
