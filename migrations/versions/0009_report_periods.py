"""Report snapshots for quarters and years: a period type, the last month covered and the
indicators a revision moved; an index of referrals by completion date, so that a period's
completed referrals are read without the referral history; an index of live contacts by
date and client, so that a period's persons are read without the contact history.

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-06 14:10:00

"""
import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0011'
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL AND client_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.alter_column('period', existing_type=sa.String(length=7),
                              type_=sa.String(length=12), existing_nullable=False)
        batch_op.add_column(sa.Column('period_type', sa.String(length=8), nullable=False,
                                      server_default='month'))
        batch_op.add_column(sa.Column('through', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('changed', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                      nullable=True))
    op.execute("UPDATE report_snapshots SET through = period WHERE period_type = 'month'")
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_group_id_completed_on',
                              ['group_id', 'completed_on'], unique=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_contacts_group_id_occurred_on_client_live',
            ['group_id', 'occurred_on', 'client_id'], unique=False,
            postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_group_id_occurred_on_client_live')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_group_id_completed_on')
    op.execute("DELETE FROM report_snapshots WHERE period_type <> 'month'")
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.drop_column('changed')
        batch_op.drop_column('through')
        batch_op.drop_column('period_type')
        batch_op.alter_column('period', existing_type=sa.String(length=12),
                              type_=sa.String(length=7), existing_nullable=False)
