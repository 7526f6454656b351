"""Outbox: a coordinator records whether a message was passed on by hand (issue #20).

`outcome` is NULL while the message waits, then `passed_on` or `unreachable`, with when
and by whom. The partial index holds only the waiting messages, newest first, so the
outbox's "to pass on" list reads them alone however long the group's history grows.

Revision ID: 0014
Revises: 0010b
Create Date: 2026-12-06 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0010b'
branch_labels = None
depends_on = None

OPEN = "outcome IS NULL"


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column(
            'outcome_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_messages_outcome_by_users'), 'users', ['outcome_by'], ['id'],
            ondelete='SET NULL')
        batch_op.create_index(
            'ix_outbox_messages_group_id_open', ['group_id', 'created_at'], unique=False,
            postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_group_id_open')
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_outcome_by_users'),
                                 type_='foreignkey')
        batch_op.drop_column('outcome_by')
        batch_op.drop_column('outcome_at')
        batch_op.drop_column('outcome')
