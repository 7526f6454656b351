"""Report snapshots read from one index, and a subtree check that costs one hash probe.

The department dashboard reads, for a year at the root of a thousand groups, about
14,000 snapshots. Two costs grew with that number:

- the row-level security policy compared each row's department with the subtree
  (`department_id = ANY (array)`) by walking the array, some 400 ids at the root, once
  per row and again for the newest-version check; `department_id IN (SELECT unnest(...))`
  is a hashed SubPlan, built once per statement and probed per row. The rows it admits
  are the same (an empty setting admits none, as before);
- the (department_id, period) index led to every heap page of the table (a snapshot row
  carries its JSON payload: four rows a page). The index now leads with the period (the
  keys a page asks for; a department's history grows, a period's rows do not) and carries
  the columns the dashboard's headline sums, newest-version check and row-level security
  read, so those statements are index-only scans: a tenth of the pages.

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-06 20:40:00

"""
from alembic import op

from harmnet.tenancy import DEPARTMENTS_EXPR, GROUP_EXPR, REPORTS_EXPR

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0015'
branch_labels = None
depends_on = None

#: What 0017 wrote.
OLD_USING = (f"department_id = ANY ((SELECT {DEPARTMENTS_EXPR})::bigint[])"
             f" OR (SELECT {REPORTS_EXPR})"
             f" OR group_id = (SELECT {GROUP_EXPR})")
NEW_USING = (f"department_id IN (SELECT unnest({DEPARTMENTS_EXPR}))"
             f" OR (SELECT {REPORTS_EXPR})"
             f" OR group_id = (SELECT {GROUP_EXPR})")
CHECK = f"{REPORTS_EXPR} OR group_id = {GROUP_EXPR}"
COVERED = ["group_id", "version", "through", "headline"]


def _policy(using: str) -> None:
    op.execute("DROP POLICY report_snapshots_department ON report_snapshots")
    op.execute(f"CREATE POLICY report_snapshots_department ON report_snapshots "
               f"USING ({using}) WITH CHECK ({CHECK})")


def upgrade():
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_report_snapshots_department_id_period')
        batch_op.create_index('ix_report_snapshots_period_department_id',
                              ['period', 'department_id'], unique=False,
                              postgresql_include=COVERED)
    if op.get_bind().dialect.name == "postgresql":
        _policy(NEW_USING)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _policy(OLD_USING)
    with op.batch_alter_table('report_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_report_snapshots_period_department_id')
        batch_op.create_index('ix_report_snapshots_department_id_period',
                              ['department_id', 'period'], unique=False)
