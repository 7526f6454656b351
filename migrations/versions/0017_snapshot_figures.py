"""Snapshot figures as numbers, and a cheaper department check on report snapshots.

The department dashboard adds up, for a year of a thousand groups, some 14,000 snapshots
(the year's, the twelve months' for the sparklines, the year before's for the change).
Taking each JSONB payload apart in SQL costs seconds at that size; two arrays of numbers
per snapshot (`headline`: each indicator's total, or a by-service indicator's shown sum and
hidden count; `figures`: every cell), NULL where a value is hidden, add up element by
element in a fraction of that. Rows are immutable: the backfill runs with the trigger that
refuses UPDATE disabled, inside this migration only.

The row-level security policy of report_snapshots evaluated the department subtree (a
setting parsed into an array) once per row; the same check now reads it once per
statement (a scalar subquery, an InitPlan), which matters when a page reads thousands of
rows. What it admits is unchanged.

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-06 17:45:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from harmnet.indicators import figure_layout, headline_layout
from harmnet.tenancy import DEPARTMENTS_EXPR, GROUP_EXPR, REPORTS_EXPR

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0012'
branch_labels = None
depends_on = None

FLOATS = sa.JSON().with_variant(postgresql.ARRAY(postgresql.DOUBLE_PRECISION()), "postgresql")

OLD_USING = (f"department_id = ANY ({DEPARTMENTS_EXPR}) OR {REPORTS_EXPR}"
             f" OR group_id = {GROUP_EXPR}")
NEW_USING = (f"department_id = ANY ((SELECT {DEPARTMENTS_EXPR})::bigint[])"
             f" OR (SELECT {REPORTS_EXPR})"
             f" OR group_id = (SELECT {GROUP_EXPR})")
CHECK = f"{REPORTS_EXPR} OR group_id = {GROUP_EXPR}"


def _policy(using: str) -> None:
    op.execute("DROP POLICY report_snapshots_department ON report_snapshots")
    op.execute(f"CREATE POLICY report_snapshots_department ON report_snapshots "
               f"USING ({using}) WITH CHECK ({CHECK})")


def _element(code: str, part: str) -> str:
    at = f"payload -> 'values' -> '{code}'"
    if part == "shown":
        return (f"(SELECT coalesce(sum((e.value #>> '{{}}')::float8), 0) "
                f"FROM jsonb_each({at}) AS e)")
    if part == "hidden":
        return (f"(SELECT count(*) FILTER (WHERE jsonb_typeof(e.value) = 'null')::float8 "
                f"FROM jsonb_each({at}) AS e)")
    return f"({at} ->> '{part}')::float8"


def upgrade():
    op.add_column("report_snapshots", sa.Column("headline", FLOATS, nullable=True))
    op.add_column("report_snapshots", sa.Column("figures", FLOATS, nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return  # the embedded default adds its few snapshots up from the payloads
    _policy(NEW_USING)
    headline = ", ".join(_element(code, part) for code, part in headline_layout())
    figures = ", ".join(_element(code, cell) for code, cell in figure_layout())
    op.execute("SELECT set_config('harmnet.reports', '1', true)")
    op.execute("ALTER TABLE report_snapshots DISABLE TRIGGER report_snapshots_immutable")
    op.execute(f"UPDATE report_snapshots SET headline = ARRAY[{headline}]::float8[], "
               f"figures = ARRAY[{figures}]::float8[]")
    op.execute("ALTER TABLE report_snapshots ENABLE TRIGGER report_snapshots_immutable")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _policy(OLD_USING)
    op.drop_column("report_snapshots", "figures")
    op.drop_column("report_snapshots", "headline")
