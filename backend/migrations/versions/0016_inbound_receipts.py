"""inbound callbacks taken once: the provider's message id (or the signature) of each

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_receipts',
                    sa.Column('key', sa.String(length=128), nullable=False),
                    sa.Column('received_at', backend.db.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('key', name=op.f('pk_inbound_receipts')))


def downgrade() -> None:
    op.drop_table('inbound_receipts')
