"""Row-level security on the audit trail and on the department-level tables.

audit_events: a group reads its own events, a department its subtree's department-level
events, the admin pages the platform's; anyone may append; nobody may change or delete
(there is no UPDATE or DELETE policy).

report_snapshots, targets, code_mappings, dhis2_settings, dhis2_pushes: a department page
reads and writes its subtree's rows (harmnet.departments, set by the department lock); a
group reads its own snapshots; the report jobs (worker, seed) act for every department
under harmnet.reports. The app role reads no other department's rows.

Revision ID: 0010b
Revises: 0010
Create Date: 2026-12-06 14:20:00

"""
from alembic import op

from harmnet.tenancy import DEPARTMENTS_EXPR, GROUP_EXPR, PLATFORM_EXPR, REPORTS_EXPR

# revision identifiers, used by Alembic.
revision = '0010b'
down_revision = '0010'
branch_labels = None
depends_on = None

AUDIT_READ = (
    f"(group_id IS NOT NULL AND group_id = {GROUP_EXPR})"
    f" OR (group_id IS NULL AND department_id = ANY ({DEPARTMENTS_EXPR}))"
    f" OR ({PLATFORM_EXPR} AND ((group_id IS NULL AND department_id IS NULL)"
    "     OR actor_id IN (SELECT id FROM users WHERE is_admin)))"
)
IN_SUBTREE = f"department_id = ANY ({DEPARTMENTS_EXPR}) OR {REPORTS_EXPR}"
DEPARTMENT_TABLES = ("targets", "code_mappings", "dhis2_settings", "dhis2_pushes")


def _force(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _force("audit_events")
    op.execute(f"CREATE POLICY audit_events_read ON audit_events FOR SELECT USING ({AUDIT_READ})")
    op.execute("CREATE POLICY audit_events_append ON audit_events FOR INSERT WITH CHECK (true)")

    _force("report_snapshots")
    op.execute("CREATE POLICY report_snapshots_department ON report_snapshots "
               f"USING ({IN_SUBTREE} OR group_id = {GROUP_EXPR}) "
               f"WITH CHECK ({REPORTS_EXPR} OR group_id = {GROUP_EXPR})")
    for table in DEPARTMENT_TABLES:
        _force(table)
        op.execute(f"CREATE POLICY {table}_department ON {table} USING ({IN_SUBTREE}) "
                   f"WITH CHECK ({IN_SUBTREE})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in DEPARTMENT_TABLES:
        op.execute(f"DROP POLICY {table}_department ON {table}")
    op.execute("DROP POLICY report_snapshots_department ON report_snapshots")
    op.execute("DROP POLICY audit_events_append ON audit_events")
    op.execute("DROP POLICY audit_events_read ON audit_events")
    for table in ("audit_events", "report_snapshots", *DEPARTMENT_TABLES):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
