"""Follow-ups: an index of the open appointments, and statistics that a peer educator's
contacts belong to one group.

The follow-ups page lists a person's (or the group's) appointments still scheduled or
missed; ix_appointments_group_id_open holds just those, where the only other way in was
every appointment of the group, or every contact of the person. PostgreSQL also took a
peer educator to have about one contact: it multiplied the selectivity of group_id and
peer_educator_id as if independent, where the person determines the group. With the
dependency known, it starts from the group's few open referrals and appointments instead
of walking the person's whole history (bench/: 11,300 buffers a page -> 1,050).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 18:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# Written so that PostgreSQL prints it back the same (bench/generate.py rebuilds indexes
# from their printed definitions and compares).
OPEN = "status = 'scheduled' OR status = 'missed'"


def upgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(
            'ix_appointments_group_id_open', ['group_id', 'status', 'scheduled_at'],
            unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS st_contacts_group_id_peer_educator_id (dependencies) "
                   "ON group_id, peer_educator_id FROM contacts")
        op.execute("ANALYZE contacts")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_contacts_group_id_peer_educator_id")
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_group_id_open')
