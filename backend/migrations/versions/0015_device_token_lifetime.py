"""phones' tokens get a lifetime: those that had none live 90 days from now (renewed while used)

Revision ID: 0015
Revises: 0014
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

tokens = sa.table('api_tokens', sa.column('kind', sa.String), sa.column('expires_at', backend.db.UTCDateTime),
                  sa.column('revoked_at', backend.db.UTCDateTime))


def upgrade() -> None:
    lifetime_end = datetime.now(timezone.utc) + timedelta(days=90)
    op.execute(tokens.update().where(tokens.c.kind == 'device', tokens.c.expires_at.is_(None),
                                     tokens.c.revoked_at.is_(None)).values(expires_at=lifetime_end))


def downgrade() -> None:
    pass  # a lifetime given is harmless to keep
