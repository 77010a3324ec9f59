"""the manager's validation of a payroll export version

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payroll_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('validated_at', backend.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('validated_by', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('payroll_exports', schema=None) as batch_op:
        batch_op.drop_column('validated_by')
        batch_op.drop_column('validated_at')
