"""Test results and linkage to care (issue 21): one group-owned table, with RLS.

A referral to HIV, hepatitis or STI testing records its outcome here, a contact that gave a
self-test kit its reported result; a confirmed reactive HIV result (or a non-reactive client
referred to PrEP) carries the linkage follow-up. Indexes lead with group_id: one per date
the monthly indicators slice by, and a partial one of the open linkages for the follow-ups
page. Roles get their rights on it when `flask db-app-role` (and `db-reports-role`, if
used) run again after the upgrade, as README's upgrade step says.

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-06 17:00:00

"""
import sqlalchemy as sa
from alembic import op

import harmnet.models._types
from harmnet.tenancy import rls_statements

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0014'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SELF_TEST = "kind = 'self_test'"
OPEN_LINKAGE = "linkage_status = 'open'"


def upgrade():
    op.create_table(
        'test_results',
        sa.Column('id', BIG, nullable=False),
        sa.Column('contact_id', BIG, nullable=False),
        sa.Column('referral_id', BIG, nullable=True),
        sa.Column('client_id', BIG, nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('test', sa.String(length=10), nullable=False),
        sa.Column('tested', sa.Boolean(), nullable=False),
        sa.Column('tested_on', sa.Date(), nullable=True),
        sa.Column('result', sa.String(length=14), nullable=True),
        sa.Column('confirm_result', sa.String(length=14), nullable=True),
        sa.Column('confirmed_on', sa.Date(), nullable=True),
        sa.Column('linkage', sa.String(length=10), nullable=True),
        sa.Column('linkage_status', sa.String(length=10), nullable=True),
        sa.Column('linkage_opened_on', sa.Date(), nullable=True),
        sa.Column('linkage_on', sa.Date(), nullable=True),
        sa.Column('linkage_days', sa.Integer(), nullable=True),
        sa.Column('recorded_by', BIG, nullable=False),
        sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
        sa.Column('updated_at', harmnet.models._types.UTCDateTime(), nullable=False),
        sa.Column('group_id', BIG, nullable=False),
        sa.ForeignKeyConstraint(['group_id', 'contact_id'], ['contacts.group_id', 'contacts.id'],
                                name=op.f('fk_test_results_group_id_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id', 'referral_id'],
                                ['referrals.group_id', 'referrals.id'],
                                name=op.f('fk_test_results_group_id_referral_id_referrals'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id', 'client_id'], ['clients.group_id', 'clients.id'],
                                name=op.f('fk_test_results_group_id_client_id_clients'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['group_id'], ['peer_groups.id'],
                                name=op.f('fk_test_results_group_id_peer_groups'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id'],
                                name=op.f('fk_test_results_recorded_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_test_results')),
        sa.UniqueConstraint('group_id', 'id', name=op.f('uq_test_results_group_id_id')),
    )
    with op.batch_alter_table('test_results', schema=None) as batch_op:
        batch_op.create_index('uq_test_results_group_id_referral_id',
                              ['group_id', 'referral_id'], unique=True)
        batch_op.create_index('uq_test_results_group_id_contact_id_self_test',
                              ['group_id', 'contact_id'], unique=True,
                              postgresql_where=sa.text(SELF_TEST),
                              sqlite_where=sa.text(SELF_TEST))
        batch_op.create_index('ix_test_results_group_id_contact_id',
                              ['group_id', 'contact_id'], unique=False)
        batch_op.create_index('ix_test_results_group_id_client_id',
                              ['group_id', 'client_id'], unique=False)
        batch_op.create_index('ix_test_results_group_id_tested_on',
                              ['group_id', 'tested_on'], unique=False)
        batch_op.create_index('ix_test_results_group_id_confirmed_on',
                              ['group_id', 'confirmed_on'], unique=False)
        batch_op.create_index('ix_test_results_group_id_linkage_on',
                              ['group_id', 'linkage_on'], unique=False)
        batch_op.create_index('ix_test_results_group_id_open_linkage',
                              ['group_id', 'linkage_opened_on'], unique=False,
                              postgresql_where=sa.text(OPEN_LINKAGE),
                              sqlite_where=sa.text(OPEN_LINKAGE))
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls_statements('test_results'):
            op.execute(statement)


def downgrade():
    op.drop_table('test_results')
