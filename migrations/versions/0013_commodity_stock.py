"""Commodity stock: the commodity list, a stock card per group and commodity, and the
ledger of line items (receipts, distribution from the contacts, adjustments), with RLS on
both group-owned tables; the four core commodities are seeded here.

Revision ID: 0013
Revises: 0017
Create Date: 2026-12-06 17:00:00

"""
import sqlalchemy as sa
from alembic import op

import harmnet.models._types
from harmnet.tenancy import rls_statements

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0017'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE_CONTACT = "contact_id IS NOT NULL"
STOCK_IN = "kind <> 'distribution'"
CORE = [
    # code, name_vi, name_en, contact field, tracks expiry
    ("condoms", "Bao cao su", "Condoms", "condoms", True),
    ("lubricants", "Chất bôi trơn", "Lubricants", "lubricants", True),
    ("leaflets", "Tờ rơi", "Leaflets", "leaflets", False),
    ("self_test_kits", "Bộ tự xét nghiệm HIV", "HIV self-test kits", "self_test_kits", True),
]


def upgrade():
    commodities = op.create_table(
        'commodities',
        sa.Column('id', ID, nullable=False),
        sa.Column('code', sa.String(length=30), nullable=False),
        sa.Column('name_vi', sa.String(length=120), nullable=False),
        sa.Column('name_en', sa.String(length=120), nullable=False),
        sa.Column('department_id', ID, nullable=True),
        sa.Column('contact_field', sa.String(length=30), nullable=True),
        sa.Column('tracks_expiry', sa.Boolean(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_commodities_department_id_departments'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commodities')),
        sa.UniqueConstraint('department_id', 'code', name=op.f('uq_commodities_department_id_code')),
    )
    with op.batch_alter_table('commodities', schema=None) as batch_op:
        batch_op.create_index('ix_commodities_department_id', ['department_id'], unique=False)

    op.create_table(
        'stock_cards',
        sa.Column('id', ID, nullable=False),
        sa.Column('commodity_id', ID, nullable=False),
        sa.Column('balance', sa.Integer(), nullable=False),
        sa.Column('started_on', sa.Date(), nullable=False),
        sa.Column('updated_at', harmnet.models._types.UTCDateTime(), nullable=False),
        sa.Column('group_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['commodity_id'], ['commodities.id'],
                                name=op.f('fk_stock_cards_commodity_id_commodities'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['group_id'], ['peer_groups.id'],
                                name=op.f('fk_stock_cards_group_id_peer_groups'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_cards')),
        sa.UniqueConstraint('group_id', 'commodity_id',
                            name=op.f('uq_stock_cards_group_id_commodity_id')),
        sa.UniqueConstraint('group_id', 'id', name=op.f('uq_stock_cards_group_id_id')),
    )
    op.create_table(
        'stock_lines',
        sa.Column('id', ID, nullable=False),
        sa.Column('commodity_id', ID, nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('occurred_on', sa.Date(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('batch', sa.String(length=60), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('counted', sa.Integer(), nullable=True),
        sa.Column('contact_id', ID, nullable=True),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by', ID, nullable=True),
        sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
        sa.Column('group_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['commodity_id'], ['commodities.id'],
                                name=op.f('fk_stock_lines_commodity_id_commodities'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_stock_lines_created_by_users')),
        sa.ForeignKeyConstraint(['group_id', 'contact_id'], ['contacts.group_id', 'contacts.id'],
                                name=op.f('fk_stock_lines_group_id_contact_id_contacts'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['group_id'], ['peer_groups.id'],
                                name=op.f('fk_stock_lines_group_id_peer_groups'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_lines')),
        sa.UniqueConstraint('group_id', 'id', name=op.f('uq_stock_lines_group_id_id')),
    )
    with op.batch_alter_table('stock_lines', schema=None) as batch_op:
        batch_op.create_index('ix_stock_lines_group_id_commodity_id_occurred_on',
                              ['group_id', 'commodity_id', 'occurred_on', 'id'], unique=False)
        batch_op.create_index('ix_stock_lines_group_id_contact_id', ['group_id', 'contact_id'],
                              unique=False, postgresql_where=sa.text(LIVE_CONTACT),
                              sqlite_where=sa.text(LIVE_CONTACT))
        batch_op.create_index('ix_stock_lines_group_id_commodity_id_stock_in',
                              ['group_id', 'commodity_id', 'expires_on'], unique=False,
                              postgresql_where=sa.text(STOCK_IN), sqlite_where=sa.text(STOCK_IN))
        batch_op.create_index('ix_stock_lines_group_id_occurred_on',
                              ['group_id', 'occurred_on'], unique=False)

    now = harmnet.models._types.utcnow()
    op.bulk_insert(commodities, [
        {"code": code, "name_vi": vi, "name_en": en, "department_id": None,
         "contact_field": field, "tracks_expiry": expiry, "is_active": True, "created_at": now}
        for code, vi, en, field, expiry in CORE])
    if op.get_bind().dialect.name == "postgresql":
        for table in ("stock_cards", "stock_lines"):
            for statement in rls_statements(table):
                op.execute(statement)


def downgrade():
    with op.batch_alter_table('stock_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_lines_group_id_occurred_on')
        batch_op.drop_index('ix_stock_lines_group_id_commodity_id_stock_in')
        batch_op.drop_index('ix_stock_lines_group_id_contact_id')
        batch_op.drop_index('ix_stock_lines_group_id_commodity_id_occurred_on')
    op.drop_table('stock_lines')
    op.drop_table('stock_cards')
    with op.batch_alter_table('commodities', schema=None) as batch_op:
        batch_op.drop_index('ix_commodities_department_id')
    op.drop_table('commodities')
