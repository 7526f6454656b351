"""Reminders: one index over all groups of the rows the dispatcher's sweep looks for.

The sweep asks, once a minute and across every group, which groups have a `pending`
reminder due or a `sending` one gone stale. ix_reminders_due holds only open rows
(pending and sending: a few per appointment still ahead, not the sent history), ordered by
`send_at`, so that question reads the due rows and nothing else, however many groups or
months exist. It leads with `send_at`, not `group_id`, on purpose: its only reader is the
cross-group sweep (a narrow BYPASSRLS reader, `flask db-reminders-role`).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-06 14:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

# Written so that PostgreSQL prints it back the same (bench/generate.py rebuilds indexes
# from their printed definitions and compares).
OPEN = "status = 'pending' OR status = 'sending'"


def upgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index(
            'ix_reminders_due', ['send_at', 'group_id'], unique=False,
            postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_due')
