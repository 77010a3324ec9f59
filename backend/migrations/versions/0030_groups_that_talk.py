"""groups that talk: an inform step may reach the whole list; the PC takes note of a call for reinforcement

Revision ID: 0030
Revises: 0029
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('procedure_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inform_all', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('noted_at', backend.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('noted_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_responses_noted_by_user_id', 'users', ['noted_by_user_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint('fk_responses_noted_by_user_id', type_='foreignkey')
        batch_op.drop_column('noted_by_user_id')
        batch_op.drop_column('noted_at')
    with op.batch_alter_table('procedure_steps', schema=None) as batch_op:
        batch_op.drop_column('inform_all')
