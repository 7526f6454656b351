"""Row-level security on the audit trail: a group reads its own events, a department its
subtree's department-level events, the admin pages the platform's; anyone may append,
nobody may change or delete (no UPDATE or DELETE policy).

Revision ID: 0010b
Revises: 0010
Create Date: 2026-12-06 14:20:00

"""
from alembic import op

from harmnet.tenancy import DEPARTMENTS_EXPR, GROUP_EXPR, PLATFORM_EXPR

# revision identifiers, used by Alembic.
revision = '0010b'
down_revision = '0010'
branch_labels = None
depends_on = None

READ = (
    f"(group_id IS NOT NULL AND group_id = {GROUP_EXPR})"
    f" OR (group_id IS NULL AND department_id = ANY ({DEPARTMENTS_EXPR}))"
    f" OR ({PLATFORM_EXPR} AND ((group_id IS NULL AND department_id IS NULL)"
    "     OR actor_id IN (SELECT id FROM users WHERE is_admin)))"
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_events FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY audit_events_read ON audit_events FOR SELECT USING ({READ})")
    op.execute("CREATE POLICY audit_events_append ON audit_events FOR INSERT WITH CHECK (true)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP POLICY audit_events_append ON audit_events")
    op.execute("DROP POLICY audit_events_read ON audit_events")
    op.execute("ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY")
