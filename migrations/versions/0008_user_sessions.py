"""Server-side sessions: the cookie names a row, and signing out ends the row.

A signed cookie alone cannot be taken back: a copy saved before signing out kept working
until its lifetime ran out. Each sign-in now opens a row (created, last seen, a summary of
the browser, ended), which the request checks, so signing out, "sign out this device" and
"sign out everywhere" take effect at once in every process.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:30:00

"""
import sqlalchemy as sa
from alembic import op

from harmnet.models._types import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        'user_sessions',
        sa.Column('id', BigId, primary_key=True, autoincrement=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', BigId, nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('user_agent', sa.String(length=60), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('end_reason', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash')),
    )
    op.create_index('ix_user_sessions_user_id_created_at', 'user_sessions',
                    ['user_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_user_sessions_last_seen_at'), 'user_sessions', ['last_seen_at'],
                    unique=False)


def downgrade():
    op.drop_table('user_sessions')
