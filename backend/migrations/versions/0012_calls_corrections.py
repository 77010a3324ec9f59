"""calls: corrected (changes kept), voided (kept, counted nowhere), wait known or not

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wait_known', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('corrections', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                                            'postgresql'),
                                      server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('voided_at', backend.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('void_reason', sa.Text(), server_default='', nullable=False))
    # Calls logged in one click before: ring and answer were the same instant, so the wait is unknown.
    op.execute("UPDATE calls SET wait_known = false WHERE source = 'console' AND answered_at = received_at")


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('void_reason')
        batch_op.drop_column('voided_by')
        batch_op.drop_column('voided_at')
        batch_op.drop_column('corrections')
        batch_op.drop_column('wait_known')
