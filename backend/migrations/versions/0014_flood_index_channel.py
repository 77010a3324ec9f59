"""the SMS flood budget read from the index alone: (address, channel, handed_off_at)

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_address_handed')
        batch_op.create_index('ix_notifications_address_handed', ['address', 'channel', 'handed_off_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_address_handed')
        batch_op.create_index('ix_notifications_address_handed', ['address', 'handed_off_at'], unique=False)
