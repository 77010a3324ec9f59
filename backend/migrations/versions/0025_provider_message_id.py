"""the provider's own id of a message, so its delivery receipt finds it

Revision ID: 0025
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_message_id', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_notifications_provider_message_id', ['provider_message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_provider_message_id')
        batch_op.drop_column('provider_message_id')
