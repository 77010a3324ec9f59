"""webhook secrets kept sealed: room for the sealed form (`vigie db upgrade` seals those in clear)

Revision ID: 0031
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not hold a VARCHAR to its length (and a batch would copy the table): PostgreSQL only.
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('webhook_subscriptions', 'secret', type_=sa.String(length=400),
                        existing_type=sa.String(length=100), existing_nullable=False)


def downgrade() -> None:
    # A sealed secret cannot be given back in 100 characters: downgrading drops the webhooks' secrets'
    # room only where none is sealed; otherwise it refuses rather than cut them.
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        return
    longest = bind.execute(sa.text("SELECT max(length(secret)) FROM webhook_subscriptions")).scalar() or 0
    if longest > 100:
        raise RuntimeError("sealed webhook secrets are longer than 100 characters: delete or re-create "
                           "the webhooks before downgrading")
    op.alter_column('webhook_subscriptions', 'secret', type_=sa.String(length=100),
                    existing_type=sa.String(length=400), existing_nullable=False)
