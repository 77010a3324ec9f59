"""on-call payroll: settings, person rules, exports per version, statements

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 08:30:43.846355
"""
from alembic import op
import sqlalchemy as sa
import backend.db
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payroll_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('csv', sa.Text(), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_payroll_exports_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_exports')),
    sa.UniqueConstraint('organization_id', 'month', 'version', name=op.f('uq_payroll_exports_organization_id'))
    )
    with op.batch_alter_table('payroll_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payroll_exports_organization_id'), ['organization_id'], unique=False)

    op.create_table('payroll_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('collectivite_code', sa.String(length=50), nullable=False),
    sa.Column('kind_regimes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('codes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('morning', sa.String(length=5), nullable=False),
    sa.Column('evening', sa.String(length=5), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_payroll_settings_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_settings')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_payroll_settings_organization_id'))
    )
    op.create_table('payroll_person_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('regime', sa.String(length=50), nullable=True),
    sa.Column('variant', sa.String(length=50), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('intervention_mode', sa.String(length=10), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_payroll_person_settings_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_payroll_person_settings_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_person_settings')),
    sa.UniqueConstraint('person_id', name=op.f('uq_payroll_person_settings_person_id'))
    )
    with op.batch_alter_table('payroll_person_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payroll_person_settings_organization_id'), ['organization_id'], unique=False)

    op.create_table('payroll_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['payroll_exports.id'], name=op.f('fk_payroll_statements_export_id_payroll_exports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_payroll_statements_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payroll_statements')),
    sa.UniqueConstraint('export_id', 'person_id', name=op.f('uq_payroll_statements_export_id'))
    )
    with op.batch_alter_table('payroll_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payroll_statements_export_id'), ['export_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payroll_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payroll_statements_export_id'))

    op.drop_table('payroll_statements')
    with op.batch_alter_table('payroll_person_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payroll_person_settings_organization_id'))

    op.drop_table('payroll_person_settings')
    op.drop_table('payroll_settings')
    with op.batch_alter_table('payroll_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payroll_exports_organization_id'))

    op.drop_table('payroll_exports')
