"""A group's own reporting year start (None: its department's), and the level a
department's DHIS2 push reports at (each group's org unit, or the department's own), and
the keys a department-level push sent (codes only), so the next one can withdraw those it
no longer sends.

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 17:45:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('peer_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fiscal_year_start_month', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'ck_peer_groups_fiscal_year_start_month',
            'fiscal_year_start_month IS NULL OR fiscal_year_start_month BETWEEN 1 AND 12')
    with op.batch_alter_table('dhis2_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('level', sa.String(length=10), nullable=False,
                                      server_default='group'))
    with op.batch_alter_table('dhis2_pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent', sa.JSON().with_variant(postgresql.JSONB(),
                                                                     'postgresql'),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('dhis2_pushes', schema=None) as batch_op:
        batch_op.drop_column('sent')
    with op.batch_alter_table('dhis2_settings', schema=None) as batch_op:
        batch_op.drop_column('level')
    with op.batch_alter_table('peer_groups', schema=None) as batch_op:
        batch_op.drop_constraint('ck_peer_groups_fiscal_year_start_month', type_='check')
        batch_op.drop_column('fiscal_year_start_month')
