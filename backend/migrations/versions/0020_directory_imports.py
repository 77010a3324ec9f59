"""a commune's directory imported from a file, and the change history pointing at it

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'directory_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_label', sa.String(length=200), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('created', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'],
                                name=op.f('fk_directory_imports_organization_id_organizations')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_directory_imports_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_imports')))
    with op.batch_alter_table('directory_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_imports_organization_id'), ['organization_id'], unique=False)
    with op.batch_alter_table('personal_data_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_personal_data_access_import_id'), ['import_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_personal_data_access_import_id_directory_imports'),
                                    'directory_imports', ['import_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('personal_data_access', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_personal_data_access_import_id_directory_imports'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_personal_data_access_import_id'))
        batch_op.drop_column('import_id')
    op.drop_table('directory_imports')
