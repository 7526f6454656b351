"""Indexes for the monthly report's persons: live contacts by client, and client profiles.

"Reached for the first time this year" probes ix_contacts_group_id_client_id_occurred_on_live
once per person reached in the month (index-only) instead of scanning the year's contacts;
ix_clients_group_id_id_profile gives the month's persons their sex, age band and first
contact date by an index-only merge join.

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-26 07:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL AND client_id IS NOT NULL"


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_contacts_group_id_client_id_occurred_on_live',
            ['group_id', 'client_id', 'occurred_on'], unique=False,
            postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(
            'ix_clients_group_id_id_profile',
            ['group_id', 'id', 'sex', 'age_band', 'first_contact_on'], unique=False)


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index('ix_clients_group_id_id_profile')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_group_id_client_id_occurred_on_live')
