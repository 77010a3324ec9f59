"""procedures have versions (a draft until a PC admin validates it) and events keep the version they were
opened with; an event may be opened without a procedure, on groups the operator chose. Every existing
procedure becomes its version 1, validated, and its events point at it.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

DEFAULT_TIMINGS = {"2": {"ack_timeout_s": 900, "repeats": 1}, "3": {"ack_timeout_s": 300, "repeats": 1},
                   "4": {"ack_timeout_s": 300, "repeats": 2}}


def upgrade() -> None:
    op.create_table(
        'procedure_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('procedure_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('content', backend.db.JSONType, nullable=False),
        sa.Column('changes', backend.db.JSONType, nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('author_user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('validated_by_user_id', sa.Integer(), nullable=True),
        sa.Column('validated_at', backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], ondelete='CASCADE',
                                name=op.f('fk_procedure_versions_procedure_id_procedures')),
        sa.ForeignKeyConstraint(['author_user_id'], ['users.id'],
                                name=op.f('fk_procedure_versions_author_user_id_users')),
        sa.ForeignKeyConstraint(['validated_by_user_id'], ['users.id'],
                                name=op.f('fk_procedure_versions_validated_by_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_versions')),
        sa.UniqueConstraint('procedure_id', 'number', name=op.f('uq_procedure_versions_procedure_id')))
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_versions_procedure_id'), ['procedure_id'], unique=False)
    op.add_column('procedures', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('procedures', sa.Column('default_severity', sa.Integer(), nullable=True))
    # Not in a batch: on SQLite that would copy the events table, which pages and the trace refer to.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE events ADD COLUMN procedure_version_id INTEGER CONSTRAINT '
                   'fk_events_procedure_version_id_procedure_versions REFERENCES procedure_versions (id)')
    else:
        op.add_column('events', sa.Column('procedure_version_id', sa.Integer(), sa.ForeignKey(
            'procedure_versions.id', name=op.f('fk_events_procedure_version_id_procedure_versions')), nullable=True))
    op.add_column('events', sa.Column('ad_hoc_group_ids', backend.db.JSONType, nullable=True))
    _existing_become_version_1()


def _existing_become_version_1() -> None:
    bind = op.get_bind()
    procedures = sa.table('procedures', sa.column('id', sa.Integer), sa.column('category', sa.String),
                          sa.column('cap_category', sa.String), sa.column('instructions', sa.String),
                          sa.column('timings', backend.db.JSONType), sa.column('created_at', backend.db.UTCDateTime))
    steps = sa.table('procedure_steps', sa.column('procedure_id', sa.Integer), sa.column('position', sa.Integer),
                     sa.column('group_id', sa.Integer), sa.column('mode', sa.String),
                     sa.column('min_severity', sa.Integer))
    lists = sa.table('procedure_report_lists', sa.column('procedure_id', sa.Integer), sa.column('list_id', sa.Integer))
    versions = sa.table('procedure_versions', sa.column('id', sa.Integer), sa.column('procedure_id', sa.Integer),
                        sa.column('number', sa.Integer), sa.column('status', sa.String),
                        sa.column('content', backend.db.JSONType), sa.column('changes', backend.db.JSONType),
                        sa.column('note', sa.String), sa.column('created_at', backend.db.UTCDateTime),
                        sa.column('validated_at', backend.db.UTCDateTime))
    events = sa.table('events', sa.column('procedure_id', sa.Integer), sa.column('procedure_version_id', sa.Integer))
    step_rows: dict[int, list] = {}
    for row in bind.execute(sa.select(steps).order_by(steps.c.procedure_id, steps.c.position)):
        step_rows.setdefault(row.procedure_id, []).append(
            {"group_id": row.group_id, "mode": row.mode, "min_severity": row.min_severity})
    list_rows: dict[int, list] = {}
    for row in bind.execute(sa.select(lists)):
        list_rows.setdefault(row.procedure_id, []).append(row.list_id)
    for row in bind.execute(sa.select(procedures)).all():
        timings = {sev: dict((row.timings or {}).get(sev) or default) for sev, default in DEFAULT_TIMINGS.items()}
        content = {"category": row.category, "cap_category": row.cap_category, "instructions": row.instructions,
                   "default_severity": None, "timings": timings, "steps": step_rows.get(row.id, []),
                   "report_list_ids": sorted(list_rows.get(row.id, []))}
        version_id = bind.execute(versions.insert().values(
            procedure_id=row.id, number=1, status="validated", content=content, changes=[],
            note="version en service lors de l'introduction des versions", created_at=row.created_at,
            validated_at=row.created_at).returning(versions.c.id)).scalar_one()
        bind.execute(events.update().where(events.c.procedure_id == row.id).values(procedure_version_id=version_id))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('fk_events_procedure_version_id_procedure_versions'), 'events', type_='foreignkey')
    # SQLite drops a column with its inline reference (3.35+), without copying the table.
    op.drop_column('events', 'ad_hoc_group_ids')
    op.drop_column('events', 'procedure_version_id')
    op.drop_column('procedures', 'default_severity')
    op.drop_column('procedures', 'version')
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_versions_procedure_id'))
    op.drop_table('procedure_versions')
