"""a commune's choice of calls: from which severity at once, and how long after an unanswered SMS

Revision ID: 0029
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voice_from_severity', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('voice_after_sms_minutes', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('voice_after_sms_minutes')
        batch_op.drop_column('voice_from_severity')
