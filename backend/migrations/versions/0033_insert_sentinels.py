"""room for an insert sentinel in trace_entries and notifications: SQLite writes a flush's rows in one INSERT

Revision ID: 0033
Revises: 0032
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

TABLES = ('trace_entries', 'notifications')


def upgrade() -> None:
    # Nullable, no default: an ALTER TABLE ADD COLUMN that neither copies nor rewrites the table.
    for table in TABLES:
        op.add_column(table, sa.Column('_sentinel', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('_sentinel')
