"""event_counters: event numbers given without locking the commune's row

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'event_counters',
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_event_counters_organization_id_organizations')),
        sa.PrimaryKeyConstraint('organization_id', 'year', name=op.f('pk_event_counters')),
    )
    op.execute("INSERT INTO event_counters (organization_id, year, last_seq) "
               "SELECT organization_id, year, MAX(seq) FROM events GROUP BY organization_id, year")


def downgrade() -> None:
    op.drop_table('event_counters')
