"""who read, changed or exported a person's data

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'personal_data_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_label', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('what', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_personal_data_access_organization_id_organizations')),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_personal_data_access_person_id_people')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_data_access_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_access')))
    with op.batch_alter_table('personal_data_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_access_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_access_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_table('personal_data_access')
