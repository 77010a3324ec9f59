"""retention of delivery logs: a commune's own period, and the index the purge reads

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_retention_months', sa.Integer(), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_org_created', ['organization_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_org_created')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('delivery_retention_months')
