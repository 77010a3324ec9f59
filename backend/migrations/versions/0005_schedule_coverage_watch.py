"""rotations, overrides, swaps, coverage windows, taking the watch, group trace, calendar feeds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 06:57:59.494414
"""
from alembic import op
import sqlalchemy as sa
import backend.db
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coverage_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('windows', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_coverage_exceptions_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_exceptions')),
    sa.UniqueConstraint('organization_id', 'day', name=op.f('uq_coverage_exceptions_organization_id'))
    )
    with op.batch_alter_table('coverage_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_exceptions_organization_id'), ['organization_id'], unique=False)

    op.create_table('coverage_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('weekly', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('holidays', sa.String(length=30), nullable=True),
    sa.Column('out_of_coverage', sa.String(length=20), nullable=False),
    sa.Column('watch_confirm_minutes', sa.Integer(), nullable=False),
    sa.Column('swap_needs_approval', sa.Boolean(), nullable=False),
    sa.Column('updated_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_coverage_settings_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_settings')),
    sa.UniqueConstraint('organization_id', name=op.f('uq_coverage_settings_organization_id'))
    )
    op.create_table('gap_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reported_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_gap_reports_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_gap_reports_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gap_reports')),
    sa.UniqueConstraint('group_id', 'starts_at', 'ends_at', name=op.f('uq_gap_reports_group_id'))
    )
    with op.batch_alter_table('gap_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gap_reports_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_gap_reports_organization_id'), ['organization_id'], unique=False)

    op.create_table('group_trace_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_group_trace_entries_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_group_trace_entries_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_trace_entries')),
    sa.UniqueConstraint('group_id', 'seq', name=op.f('uq_group_trace_entries_group_id'))
    )
    with op.batch_alter_table('group_trace_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_trace_entries_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_trace_entries_organization_id'), ['organization_id'], unique=False)

    op.create_table('watch_turns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('previous_person_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('due_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claim_until', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('asked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_via', sa.String(length=10), nullable=True),
    sa.Column('missed_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_watch_turns_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_watch_turns_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_watch_turns_person_id_people')),
    sa.ForeignKeyConstraint(['previous_person_id'], ['people.id'], name=op.f('fk_watch_turns_previous_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_turns')),
    sa.UniqueConstraint('group_id', 'starts_at', 'person_id', name=op.f('uq_watch_turns_group_id'))
    )
    with op.batch_alter_table('watch_turns', schema=None) as batch_op:
        batch_op.create_index('ix_watch_turns_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_turns_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_turns_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_turns_person_id'), ['person_id'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_fetched_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_calendar_feeds_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_calendar_feeds_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_calendar_feeds_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_calendar_feeds_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_feeds_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_feeds_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_feeds_person_id'), ['person_id'], unique=False)

    op.create_table('rotations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('member_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('anchor_local', sa.DateTime(), nullable=False),
    sa.Column('turn_days', sa.Integer(), nullable=False),
    sa.Column('valid_from', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_rotations_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_rotations_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_rotations_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotations'))
    )
    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotations_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotations_organization_id'), ['organization_id'], unique=False)

    op.create_table('swap_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('requester_turn', sa.Integer(), nullable=False),
    sa.Column('counterpart_id', sa.Integer(), nullable=False),
    sa.Column('counterpart_turn', sa.Integer(), nullable=True),
    sa.Column('rotation_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decision_note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['counterpart_id'], ['people.id'], name=op.f('fk_swap_requests_counterpart_id_people')),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_swap_requests_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_swap_requests_organization_id_organizations')),
    sa.ForeignKeyConstraint(['requester_id'], ['people.id'], name=op.f('fk_swap_requests_requester_id_people')),
    sa.ForeignKeyConstraint(['rotation_id'], ['rotations.id'], name=op.f('fk_swap_requests_rotation_id_rotations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swap_requests'))
    )
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_swap_requests_counterpart_id'), ['counterpart_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_swap_requests_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_swap_requests_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_swap_requests_requester_id'), ['requester_id'], unique=False)

    op.create_table('overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('replaces_person_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('swap_id', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', backend.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_overrides_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['group_id'], ['oncall_groups.id'], name=op.f('fk_overrides_group_id_oncall_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_overrides_organization_id_organizations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_overrides_person_id_people')),
    sa.ForeignKeyConstraint(['replaces_person_id'], ['people.id'], name=op.f('fk_overrides_replaces_person_id_people')),
    sa.ForeignKeyConstraint(['swap_id'], ['swap_requests.id'], name=op.f('fk_overrides_swap_id_swap_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overrides'))
    )
    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overrides_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_overrides_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overrides_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_overrides_starts_at'), ['starts_at'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_coverage', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('coverage_handling', sa.String(length=20), nullable=True))

    with op.batch_alter_table('oncall_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trace_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('trace_head', sa.String(length=64), nullable=False, server_default='0' * 64))



def downgrade() -> None:
    with op.batch_alter_table('oncall_groups', schema=None) as batch_op:
        batch_op.drop_column('trace_head')
        batch_op.drop_column('trace_seq')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('coverage_handling')
        batch_op.drop_column('in_coverage')

    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overrides_starts_at'))
        batch_op.drop_index(batch_op.f('ix_overrides_organization_id'))
        batch_op.drop_index(batch_op.f('ix_overrides_group_id'))
        batch_op.drop_index(batch_op.f('ix_overrides_ends_at'))

    op.drop_table('overrides')
    with op.batch_alter_table('swap_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_swap_requests_requester_id'))
        batch_op.drop_index(batch_op.f('ix_swap_requests_organization_id'))
        batch_op.drop_index(batch_op.f('ix_swap_requests_group_id'))
        batch_op.drop_index(batch_op.f('ix_swap_requests_counterpart_id'))

    op.drop_table('swap_requests')
    with op.batch_alter_table('rotations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotations_organization_id'))
        batch_op.drop_index(batch_op.f('ix_rotations_group_id'))

    op.drop_table('rotations')
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_person_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_organization_id'))
        batch_op.drop_index(batch_op.f('ix_calendar_feeds_group_id'))

    op.drop_table('calendar_feeds')
    with op.batch_alter_table('watch_turns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_turns_person_id'))
        batch_op.drop_index(batch_op.f('ix_watch_turns_organization_id'))
        batch_op.drop_index(batch_op.f('ix_watch_turns_group_id'))
        batch_op.drop_index('ix_watch_turns_due')

    op.drop_table('watch_turns')
    with op.batch_alter_table('group_trace_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_trace_entries_organization_id'))
        batch_op.drop_index(batch_op.f('ix_group_trace_entries_group_id'))

    op.drop_table('group_trace_entries')
    with op.batch_alter_table('gap_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gap_reports_organization_id'))
        batch_op.drop_index(batch_op.f('ix_gap_reports_group_id'))

    op.drop_table('gap_reports')
    op.drop_table('coverage_settings')
    with op.batch_alter_table('coverage_exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_exceptions_organization_id'))

    op.drop_table('coverage_exceptions')
