"""trace entries commit to their words (a salt per entry), so that pseudonymising a person keeps
every chain verifiable; existing chains are re-sealed when they verify, left as they are if not

Revision ID: 0019
Revises: 0018
"""
import hashlib
import json
import logging
import secrets

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
GENESIS = "0" * 64

# The hash rules as they are at this revision (frozen here: later code may change, this may not).


def _commit(salt, path, value):
    return hashlib.sha256(f"{salt}|{path}|{value}".encode()).hexdigest()


def _seal(node, salt, path="data"):
    if isinstance(node, str):
        return _commit(salt, path, node)
    if isinstance(node, dict):
        return {k: _seal(v, salt, f"{path}.{k}") for k, v in node.items()}
    if isinstance(node, list):
        return [_seal(v, salt, f"{path}[{n}]") for n, v in enumerate(node)]
    return node


def _hash(row, subject, prev, salt=None):
    label, data = row.actor_label, row.data
    if salt is not None:
        label, data = _commit(salt, "actor", label), _seal(data, salt)
    payload = {"prev": prev, **subject, "seq": row.seq, "at": row.at.isoformat(timespec="microseconds"),
               "actor": [row.actor_type, row.actor_id, label], "kind": row.kind, "data": data,
               "corrects": getattr(row, "corrects_id", None)}
    if salt is not None:
        payload["v"] = 2
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reseal(bind, entries, heads, owner, subject_key):
    columns = [sa.column('id', sa.Integer), sa.column(owner, sa.Integer), sa.column('seq', sa.Integer),
               sa.column('at', backend.db.UTCDateTime), sa.column('actor_type', sa.String),
               sa.column('actor_id', sa.Integer), sa.column('actor_label', sa.String), sa.column('kind', sa.String),
               sa.column('data', backend.db.JSONType), sa.column('prev_hash', sa.String),
               sa.column('hash', sa.String), sa.column('salt', sa.String)]
    if entries == 'trace_entries':
        columns.append(sa.column('corrects_id', sa.Integer))
    table = sa.table(entries, *columns)
    owners = sa.table(heads, sa.column('id', sa.Integer), sa.column('trace_head', sa.String))
    left = 0
    for (owner_id, head) in bind.execute(sa.select(owners.c.id, owners.c.trace_head)).all():
        rows = bind.execute(sa.select(table).where(table.c[owner] == owner_id).order_by(table.c.seq)).all()
        if not rows:
            continue
        prev, intact = GENESIS, True
        for expected, row in enumerate(rows, start=1):
            if row.seq != expected or row.prev_hash != prev or _hash(row, {subject_key: owner_id}, prev) != row.hash:
                intact = False
                break
            prev = row.hash
        if not intact or prev != head:
            left += 1  # kept as version 1: its verification still says where it was broken
            continue
        prev = GENESIS
        for row in rows:
            salt = secrets.token_hex(16)
            digest = _hash(row, {subject_key: owner_id}, prev, salt)
            bind.execute(table.update().where(table.c.id == row.id).values(salt=salt, prev_hash=prev, hash=digest))
            prev = digest
        bind.execute(owners.update().where(owners.c.id == owner_id).values(trace_head=prev))
    if left:
        log.warning("%d %s chains did not verify: left as they were (version 1)", left, entries)


def upgrade() -> None:
    for entries in ('trace_entries', 'group_trace_entries'):
        with op.batch_alter_table(entries, schema=None) as batch_op:
            batch_op.add_column(sa.Column('salt', sa.String(length=32), nullable=True))
            batch_op.add_column(sa.Column('sealed', backend.db.JSONType, nullable=False, server_default='{}'))
    bind = op.get_bind()
    _reseal(bind, 'trace_entries', 'events', 'event_id', 'event')
    _reseal(bind, 'group_trace_entries', 'oncall_groups', 'group_id', 'group')


def downgrade() -> None:
    for entries in ('trace_entries', 'group_trace_entries'):
        with op.batch_alter_table(entries, schema=None) as batch_op:
            batch_op.drop_column('sealed')
            batch_op.drop_column('salt')
