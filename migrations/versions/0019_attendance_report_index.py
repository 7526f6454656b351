"""The monthly report's training participants: attended roll calls by training.

The participants of a period's trainings are found one probe per training (the trainings
from ix_trainings_group_id_starts_at, bounded by the period's dates); this partial index
holds one deduplicated key per training, so a probe costs the same two pages whatever
history of roll calls the table holds (the unique index on group, training and member has
a key per roll call and grows a level deeper with the years).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 20:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ATTENDED = "status = 'attended'"


def upgrade():
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index(
            'ix_attendances_group_id_training_id_attended', ['group_id', 'training_id'],
            unique=False, postgresql_where=sa.text(ATTENDED), sqlite_where=sa.text(ATTENDED))


def downgrade():
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index('ix_attendances_group_id_training_id_attended')
