"""Accounts: password reset links, two-step sign-in (TOTP state and recovery codes), and
the key checks (`flask check-keys`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:00:00

"""
import sqlalchemy as sa
from alembic import op

import harmnet.models._types

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('password_resets',
    sa.Column('id', BigId, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('issued_by_id', BigId, nullable=True),
    sa.Column('scope', sa.String(length=12), nullable=False),
    sa.Column('group_id', BigId, nullable=True),
    sa.Column('department_id', BigId, nullable=True),
    sa.Column('expires_at', harmnet.models._types.UTCDateTime(), nullable=False),
    sa.Column('used_at', harmnet.models._types.UTCDateTime(), nullable=True),
    sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_password_resets_department_id_departments')),
    sa.ForeignKeyConstraint(['group_id'], ['peer_groups.id'], name=op.f('fk_password_resets_group_id_peer_groups')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_password_resets_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_resets_token_hash'))
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index('ix_password_resets_user_id', ['user_id'], unique=False)

    op.create_table('recovery_codes',
    sa.Column('id', BigId, nullable=False),
    sa.Column('user_id', BigId, nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', harmnet.models._types.UTCDateTime(), nullable=True),
    sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index('ix_recovery_codes_user_id', ['user_id'], unique=False)

    op.create_table('key_checks',
    sa.Column('id', BigId, nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', harmnet.models._types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_checks')),
    sa.UniqueConstraint('name', name=op.f('uq_key_checks_name'))
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_enabled_at', harmnet.models._types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
    op.drop_table('key_checks')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_recovery_codes_user_id')
    op.drop_table('recovery_codes')
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index('ix_password_resets_user_id')
    op.drop_table('password_resets')
