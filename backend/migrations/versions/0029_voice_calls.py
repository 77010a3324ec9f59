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
    # Not in a batch: on SQLite that copies the organizations table, which every other table refers to.
    op.add_column('organizations', sa.Column('voice_from_severity', sa.Integer(), nullable=True))
    op.add_column('organizations', sa.Column('voice_after_sms_minutes', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('organizations', 'voice_after_sms_minutes')  # SQLite 3.35+ drops them in place
    op.drop_column('organizations', 'voice_from_severity')
