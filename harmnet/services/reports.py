"""Monthly indicator values: computed in SQL, suppressed, and frozen into versioned snapshots.

Group side: `compute_group` runs a handful of GROUP BY queries under the group's tenant
context (the ORM filter and RLS both apply); `build_snapshot` suppresses the values for the
department and stores a new version only when what the department would see has changed.
Department side (everything below "Department side"): reads snapshots only.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    and_,
    any_,
    case,
    distinct,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from .. import indicators, tenancy
from ..access import department_ancestor_ids, department_subtree_ids
from ..extensions import db
from ..indicators import TOTAL, UNKNOWN
from ..models import (
    Appointment,
    Attendance,
    Client,
    Contact,
    Department,
    Member,
    PeerGroup,
    Referral,
    ReportSnapshot,
    Target,
    Training,
)
from ..suppression import Period, suppress_published_set
from . import audit, results, stock

ONLINE_CHANNELS = ("zalo", "messenger", "phone")
#: 2: a payload names its period type and the months it covers (first, through).
SCHEMA_VERSION = 2


# --- periods ---------------------------------------------------------------------------------

PERIOD_TYPES = ("month", "quarter", "year")


def month_bounds(period: str) -> tuple[date, date]:
    """First day of the month YYYY-MM and first day of the next month."""
    year, month = (int(part) for part in period.split("-"))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> str:
    return month_of(date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1))


def add_months(period: str, n: int) -> str:
    year, month = (int(part) for part in period.split("-"))
    index = year * 12 + month - 1 + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(first: str, through: str) -> list[str]:
    out = [first]
    while out[-1] < through:
        out.append(add_months(out[-1], 1))
    return out


def fiscal_year_start(day: date, start_month: int) -> date:
    """The first day of the reporting year that contains `day`."""
    year = day.year if day.month >= start_month else day.year - 1
    return date(year, start_month, 1)


def quarter_key(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:7]) - 1) // 3 + 1}"


def year_key(first_year: int, fy_start_month: int) -> str:
    """The snapshot key of the reporting year that starts in `first_year`: "2026" for a
    calendar year, "2026-FY04" for one that starts in April (a department whose year starts
    in another month never mixes these with calendar years)."""
    return str(first_year) if fy_start_month == 1 else f"{first_year}-FY{fy_start_month:02d}"


@dataclass(frozen=True)
class Span:
    """A published period: a month, a quarter to date or a reporting year to date."""

    key: str
    kind: str  # month | quarter | year
    first: str  # first month, YYYY-MM
    through: str  # last month included so far, YYYY-MM

    @property
    def months(self) -> list[str]:
        return months_between(self.first, self.through)

    @property
    def bounds(self) -> tuple[date, date]:
        return month_bounds(self.first)[0], month_bounds(self.through)[1]


def month_span(month: str) -> Span:
    month_bounds(month)  # validates
    return Span(month, "month", month, month)


def quarter_span(month: str) -> Span:
    """The quarter of `month`, to date (through `month`)."""
    first = f"{month[:4]}-{(int(month[5:7]) - 1) // 3 * 3 + 1:02d}"
    return Span(quarter_key(month), "quarter", first, month)


def year_span(month: str, fy_start_month: int) -> Span:
    """The reporting year of `month`, to date."""
    first = fiscal_year_start(month_bounds(month)[0], fy_start_month)
    return Span(year_key(first.year, fy_start_month), "year", month_of(first), month)


def published_set(month: str, fy_start_month: int) -> list[Span]:
    """Every period published once `month` closes, as far as `month`'s reporting year goes:
    each month of the year so far, each quarter to date, the year to date (and the months of
    a quarter that starts before the year, when the year does not start on a quarter).
    Cross-period suppression works over this whole set, and a late correction anywhere in
    it is caught by the next run. Months first, then quarters, then the year."""
    year = year_span(month, fy_start_month)
    quarters: list[Span] = []
    for m in year.months:
        q = quarter_span(m)
        if quarters and quarters[-1].key == q.key:
            quarters[-1] = q
        else:
            quarters.append(q)
    first = min(year.first, quarters[0].first)
    return [*(month_span(m) for m in months_between(first, month)), *quarters, year]


def parse_spec(spec: str, fy_start_month: int = 1) -> Span:
    """A department's ?p= period: YYYY-MM, YYYY-Qn (calendar quarter) or YYYY (the reporting
    year starting in `fy_start_month` of that year), as the full period it names."""
    if len(spec) == 7 and spec[4] == "-" and spec[5:].isdigit():
        return month_span(spec)
    if len(spec) == 7 and spec[4:6] == "-Q" and spec[6] in "1234" and spec[:4].isdigit():
        first = f"{spec[:4]}-{(int(spec[6]) - 1) * 3 + 1:02d}"
        return Span(spec, "quarter", first, add_months(first, 2))
    if len(spec) == 4 and spec.isdigit():
        first = f"{spec}-{fy_start_month:02d}"
        return Span(year_key(int(spec), fy_start_month), "year", first, add_months(first, 11))
    raise ValueError("bad period")


def local_now(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz))


def _utc_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end, time(), zone).astimezone(UTC))


# --- computation (SQL only) ---------------------------------------------------------------------

Values = dict[str, dict[str, int | float]]


def empty_values() -> Values:
    return {i.code: dict.fromkeys(i.cells, 0) for i in indicators.CATALOGUE}


def _sex_age_cell(sex: str | None, band: str | None) -> str:
    cell = f"{sex}:{band}"
    return cell if cell in indicators.SEX_AGE_CELLS else UNKNOWN


#: Indicators whose quarter or year is computed for that period in SQL (persons).
DISTINCT_CODES = tuple(i.code for i in indicators.CATALOGUE
                       if i.aggregation == "distinct" and i.code != "reached_first_time")


def compute(group_ids: Sequence[int], period: str, *, tz: str, fy_start_month: int
            ) -> dict[int, Values]:
    """Every indicator of the month `period` for each group in `group_ids`."""
    spans = [month_span(period)]
    return {gid: by_key[period] for gid, by_key in
            compute_set(_session_run, group_ids, spans, tz=tz,
                        fy_start_month=fy_start_month).items()}


def _session_run(stmt):  # type: ignore[no-untyped-def]
    return db.session.execute(stmt).all()


def compute_set(run, group_ids: Sequence[int], spans: Sequence[Span], *, tz: str,  # type: ignore[no-untyped-def]
                fy_start_month: int, persons_hints=None) -> dict[int, dict[str, Values]]:
    """Every indicator of every period in `spans` for each group in `group_ids`.

    Months come from SQL: a handful of GROUP BY group_id statements each, every one
    bounded by the month's dates (so a month costs the same whatever history lies before
    it). A quarter or a year is then made per indicator as the catalogue says: `sum`
    indicators (and persons reached for the first time in the year, who count in one
    month of a year only) add up its months; `last` ones take its last month; `distinct`
    ones are computed in SQL for the period itself. Persons and referrals of all the
    periods come from one statement each (`_persons_set`, `_referrals_set`: one pass over
    the stretch the spans cover, a flag per span), not one per period: a published year
    is read once, not three times. Runs within one group's context (the
    per-group path) or on the cross-group reports connection (report_batch); the same
    statements either way. Every month of a quarter or year span must be in `spans`.
    `persons_hints(True/False)` is called around each persons, referrals and trainings
    statement (the batch path sets planner hints there).
    """
    @contextmanager
    def hinted():  # type: ignore[no-untyped-def]
        """The batch path's planner hints around one statement (none on the per-group path)."""
        # No finally: after a failed statement the transaction is aborted and the error
        # that matters is the statement's own.
        if persons_hints:
            persons_hints(True)
        yield
        if persons_hints:
            persons_hints(False)

    ids = list(group_ids)
    out: dict[int, dict[str, Values]] = {gid: {} for gid in ids}
    parts = {span.key: {gid: empty_values() for gid in ids} for span in spans}
    # Persons of every period in one pass over the set's contacts (see _persons_set); a
    # month whose reporting year starts before the set's first day (a year that does not
    # start on a quarter) is probed month by month instead.
    one_pass = list(spans)
    while one_pass:
        first_day = min(s.bounds[0] for s in one_pass)
        kept = [s for s in one_pass if s.kind != "month"
                or fiscal_year_start(s.bounds[0], fy_start_month) >= first_day]
        if kept == one_pass:
            break
        one_pass = kept
    if one_pass:
        with hinted():
            _persons_set(run, parts, ids, one_pass, fy_start_month)
    if spans:
        with hinted():
            _referrals_set(run, parts, ids, spans)
    for span in spans:
        if span.kind != "month":
            continue
        start, end = span.bounds
        part = parts[span.key]
        start_utc, end_utc = _utc_bounds(start, end, tz)
        _contact_totals(run, part, ids, start, end)
        if span not in one_pass:
            with hinted():
                _persons(run, part, ids, start, end, fiscal_year_start(start, fy_start_month))
        results.count_indicators(run, part, ids, start, end)
        _appointments(run, part, ids, start_utc, end_utc)
        with hinted():
            _trainings(run, part, ids, start_utc, end_utc)
        _members(run, part, ids, start, end)
        stock.month_values(run, part, ids, start, end, local_now(tz).date())
        for gid in ids:
            out[gid][span.key] = part[gid]
    for span in spans:
        if span.kind == "month":
            continue
        start, end = span.bounds
        part = parts[span.key]
        start_utc, end_utc = _utc_bounds(start, end, tz)
        results.count_indicators(run, part, ids, start, end)
        with hinted():
            _training_participants(run, part, ids, start_utc, end_utc)
        months = span.months
        for gid in ids:
            values = part[gid]
            by_month = [out[gid][m] for m in months]
            for indicator in indicators.CATALOGUE:
                code = indicator.code
                if indicator.aggregation == "last":
                    values[code] = dict(by_month[-1][code])
                elif indicator.additive_in_year:
                    values[code] = {
                        cell: _add([mv[code][cell] for mv in by_month], indicator.decimals)
                        for cell in indicator.cells}
            out[gid][span.key] = values
    return out


def _add(values: list[int | float], decimals: int) -> int | float:
    total = sum(values)
    return round(total, decimals) if decimals else int(total)


def _in_period(ids: list[int], start: date, end: date):  # type: ignore[no-untyped-def]
    return and_(Contact.group_id.in_(ids), Contact.deleted_at.is_(None),
                Contact.occurred_on >= start, Contact.occurred_on < end)


def _contact_totals(run, out: dict, ids: list[int], start: date, end: date  # type: ignore[no-untyped-def]
                    ) -> None:
    """Family 1 (contacts, sessions, participants, online contacts, commodities): one pass
    over the month's live contacts, GROUP BY group_id."""
    session = Contact.channel == "group_session"
    for row in run(
        select(
            Contact.group_id,
            func.count(),
            func.count().filter(session),
            func.coalesce(func.sum(Contact.participants_count).filter(session), 0),
            func.count().filter(Contact.channel.in_(ONLINE_CHANNELS)),
            func.coalesce(func.sum(Contact.condoms), 0),
            func.coalesce(func.sum(Contact.lubricants), 0),
            func.coalesce(func.sum(Contact.leaflets), 0),
            func.coalesce(func.sum(Contact.self_test_kits), 0),
        ).where(_in_period(ids, start, end)).group_by(Contact.group_id)
    ):
        v = out[row[0]]
        for code, value in zip(
            ("contacts", "group_sessions", "group_session_participants", "online_contacts",
             "condoms", "lubricants", "leaflets", "self_test_kits"), row[1:], strict=True
        ):
            v[code][TOTAL] = int(value)


def _persons(run, out: dict, ids: list[int], start: date, end: date,  # type: ignore[no-untyped-def]
             fy_start: date | None) -> None:
    """Family 2: unique individuals reached in [start, end), and (with `fy_start`) those
    reached for the first time this year, by sex and age band.

    The period's distinct (group, client) pairs come first, read from the period's slice of
    ix_contacts_group_id_occurred_on_client_live (index-only), then joined to their client. A
    client
    first met on or after the period's first day is new this year; any other is probed once
    for a live contact earlier in the year, an index-only lookup in
    ix_contacts_group_id_client_id_occurred_on_live (never a scan of the year's contacts).
    """
    persons = (
        select(Contact.group_id, Contact.client_id)
        .where(_in_period(ids, start, end), Contact.client_id.is_not(None))
        .distinct()
        .subquery("persons")
    )
    columns = [persons.c.group_id, Client.sex, Client.age_band, func.count()]
    if fy_start is not None:
        earlier = aliased(Contact, name="earlier")
        seen_before = exists().where(
            earlier.group_id == persons.c.group_id,
            earlier.client_id == persons.c.client_id,
            earlier.client_id.is_not(None),  # lets PostgreSQL use the partial index
            earlier.deleted_at.is_(None),
            earlier.occurred_on >= fy_start,
            earlier.occurred_on < start,
        )
        columns.append(func.count().filter(or_(Client.first_contact_on >= start,
                                               ~seen_before)))
    for row in run(
        select(*columns)
        .select_from(persons)
        .join(Client, and_(Client.group_id == persons.c.group_id,
                           Client.id == persons.c.client_id))
        .group_by(persons.c.group_id, Client.sex, Client.age_band)
    ):
        gid, sex, band = row[0], row[1], row[2]
        cell = _sex_age_cell(sex, band)
        for code, value in zip(("reached", "reached_first_time"), row[3:], strict=False):
            out[gid][code][cell] += int(value)
            out[gid][code][TOTAL] += int(value)


class month_bits(FunctionElement):  # noqa: N801 - an SQL function's name
    """OR of the month bits of a person's contacts: bit_or on PostgreSQL, elsewhere the sum
    of the distinct bits (the same, each bit being a power of two)."""

    type = BigInteger()
    name = "month_bits"
    inherit_cache = True


@compiles(month_bits)
def _month_bits_sum(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"sum(DISTINCT {compiler.process(element.clauses, **kw)})"


@compiles(month_bits, "postgresql")
def _month_bits_or(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"bit_or({compiler.process(element.clauses, **kw)})"


def _persons_set(run, parts: dict, ids: list[int], spans: Sequence[Span],  # type: ignore[no-untyped-def]
                 fy_start_month: int) -> None:
    """Family 2 for many periods at once: unique individuals reached in each span, and in
    each month span those reached for the first time in its reporting year, by sex and age.

    One statement reads the live contacts of the spans' whole stretch once, from
    ix_contacts_group_id_occurred_on_client_live (index-only, bounded by the stretch's
    dates: months stored before it are never read), and makes one row per person holding
    one number: a bit per calendar month of the stretch in which they had a live contact
    (one small aggregate per person, not a flag per span: the hash of a year's persons
    stays small); each person then looks up their sex and age band in
    ix_clients_group_id_id_profile. A person is in a span when they have a bit of its
    months, and new in a month when they have its bit and none of the earlier months of
    its reporting year (the same as having no live contact in that year before the month),
    so a year's first-time persons are counted in exactly one of its months."""
    lo = min(s.bounds[0] for s in spans)
    hi = max(s.bounds[1] for s in spans)
    months: list[date] = []  # first day of each calendar month of the stretch
    day = lo.replace(day=1)
    while day < hi:
        months.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    if len(months) > 62:
        raise ValueError("a set of periods spans more than 62 months")

    def bits(first: date, end: date) -> int:
        return sum(1 << i for i, m in enumerate(months) if first <= m < end)

    def number(n: int):  # type: ignore[no-untyped-def]
        return literal_column(f"CAST({n} AS BIGINT)")

    bit = case(*[(Contact.occurred_on < (months[i + 1] if i + 1 < len(months) else hi),
                  number(1 << i)) for i in range(len(months))])
    persons = (
        select(Contact.group_id, Contact.client_id, month_bits(bit).label("months"))
        .where(_in_period(ids, lo, hi), Contact.client_id.is_not(None))
        .group_by(Contact.group_id, Contact.client_id)
        .subquery("persons")
    )

    def having(mask: int):  # type: ignore[no-untyped-def]
        return persons.c.months.op("&", precedence=6)(number(mask)) != 0

    columns = []
    for span in spans:
        start, end = span.bounds
        columns.append(func.sum(case((having(bits(start, end)), 1), else_=0)))
        if span.kind == "month":
            before = bits(fiscal_year_start(start, fy_start_month), start)
            columns.append(func.sum(case((and_(having(bits(start, end)),
                                               ~having(before) if before else true()), 1),
                                         else_=0)))
    for row in run(
        select(persons.c.group_id, Client.sex, Client.age_band, *columns)
        .select_from(persons)
        .join(Client, and_(Client.group_id == persons.c.group_id,
                           Client.id == persons.c.client_id))
        .group_by(persons.c.group_id, Client.sex, Client.age_band)
    ):
        gid, cell = row[0], _sex_age_cell(row[1], row[2])
        figures = iter(row[3:])
        for span in spans:
            codes = ("reached", "reached_first_time") if span.kind == "month" else ("reached",)
            values = parts[span.key][gid]
            for code in codes:
                n = int(next(figures) or 0)
                values[code][cell] += n
                values[code][TOTAL] += n


def _referrals_set(run, parts: dict, ids: list[int], spans: Sequence[Span]  # type: ignore[no-untyped-def]
                   ) -> None:
    """Family 3, for many periods at once: persons referred, and persons whose referral
    was completed, by service. One pass over the referrals made or completed in the
    spans' stretch (both conditions bounded by its dates: ix_referrals_group_id_referred_on
    and the completed-on index), each probing its contact by primary key to leave out
    deleted contacts (the contact history is never read); one row per group, service and
    person with a flag per span, then summed per span."""
    lo = min(s.bounds[0] for s in spans)
    hi = max(s.bounds[1] for s in spans)
    person = func.coalesce(Referral.client_id, -Referral.id).label("person")
    made = and_(Referral.referred_on >= lo, Referral.referred_on < hi)
    done = and_(Referral.status == "completed", Referral.completed_on >= lo,
                Referral.completed_on < hi)
    live = exists().where(Contact.group_id == Referral.group_id,
                          Contact.id == Referral.contact_id, Contact.deleted_at.is_(None))
    flags = []
    for i, span in enumerate(spans):
        start, end = span.bounds
        flags.append(func.max(case((and_(Referral.referred_on >= start,
                                         Referral.referred_on < end), 1), else_=0)
                              ).label(f"made_{i}"))
        flags.append(func.max(case((and_(Referral.status == "completed",
                                         Referral.completed_on >= start,
                                         Referral.completed_on < end), 1), else_=0)
                              ).label(f"done_{i}"))
    persons = (
        select(Referral.group_id, Referral.service, person, *flags)
        .where(Referral.group_id.in_(ids), or_(made, done), live)
        .group_by(Referral.group_id, Referral.service, person)
        .subquery("referred")
    )
    sums = [func.sum(c) for c in persons.c if c.name.startswith(("made_", "done_"))]
    for row in run(select(persons.c.group_id, persons.c.service, *sums)
                   .group_by(persons.c.group_id, persons.c.service)):
        gid, service, figures = row[0], row[1], iter(row[2:])
        for span in spans:
            n_made, n_done = int(next(figures) or 0), int(next(figures) or 0)
            values = parts[span.key][gid]
            if service in values["referred"]:
                values["referred"][service] = n_made
                values["referral_completed"][service] = n_done


def _appointments(run, out: dict, ids: list[int], start_utc: datetime,  # type: ignore[no-untyped-def]
                  end_utc: datetime) -> None:
    """Family 4: appointments kept (scheduled in the period, in the group's local time)."""
    for gid, kept in run(
        select(Appointment.group_id, func.count())
        .where(Appointment.group_id.in_(ids), Appointment.status == "attended",
               Appointment.scheduled_at >= start_utc, Appointment.scheduled_at < end_utc)
        .group_by(Appointment.group_id)
    ):
        out[gid]["appointments_kept"][TOTAL] = int(kept)


def _held(ids: list[int], start_utc: datetime, end_utc: datetime):  # type: ignore[no-untyped-def]
    return and_(Training.group_id.in_(ids), Training.status == "held",
                Training.starts_at >= start_utc, Training.starts_at < end_utc)


def _trainings(run, out: dict, ids: list[int], start_utc: datetime,  # type: ignore[no-untyped-def]
               end_utc: datetime) -> None:
    """Family 5: trainings held, their hours and distinct participants. The period's
    trainings come from ix_trainings_group_id_starts_at (bounded by the period's dates),
    their attended roll calls from ix_attendances_group_id_training_id_attended, one probe
    per training: neither reads the trainings or roll calls of other periods."""
    for gid, n, minutes in run(
        select(Training.group_id, func.count(),
               func.coalesce(func.sum(Training.duration_minutes), 0))
        .where(_held(ids, start_utc, end_utc)).group_by(Training.group_id)
    ):
        out[gid]["trainings_held"][TOTAL] = int(n)
        out[gid]["training_hours"][TOTAL] = round(int(minutes) / 60, 1)
    _training_participants(run, out, ids, start_utc, end_utc)


def _training_participants(run, out: dict, ids: list[int], start_utc: datetime,  # type: ignore[no-untyped-def]
                           end_utc: datetime) -> None:
    for gid, n in run(
        select(Attendance.group_id, func.count(distinct(Attendance.member_id)))
        .join(Training, and_(Training.group_id == Attendance.group_id,
                             Training.id == Attendance.training_id))
        .where(_held(ids, start_utc, end_utc), Attendance.status == "attended")
        .group_by(Attendance.group_id)
    ):
        out[gid]["training_participants"][TOTAL] = int(n)


def _members(run, out: dict, ids: list[int], start: date, end: date  # type: ignore[no-untyped-def]
             ) -> None:
    """Family 6: active members and peer educators of the month (a state: a quarter or a
    year takes its last month's)."""
    active = and_(
        Member.group_id.in_(ids),
        or_(Member.joined_on.is_(None), Member.joined_on < end),
        or_(Member.left_on.is_(None), Member.left_on >= start),
        ~and_(Member.status == "left", Member.left_on.is_(None)),
        ~and_(Member.status == "paused", or_(Member.paused_on.is_(None),
                                             Member.paused_on < start)),
    )
    for gid, members, peers in run(
        select(Member.group_id, func.count(),
               func.count().filter(Member.role_in_group == "peer_educator"))
        .where(active).group_by(Member.group_id)
    ):
        out[gid]["active_members"][TOTAL] = int(members)
        out[gid]["active_peer_educators"][TOTAL] = int(peers)


def _group_setup(group: PeerGroup) -> tuple[int, int]:
    """(suppression threshold, fiscal year start month) that apply to a group's reports.

    The threshold is the strictest along the department chain: every ancestor sees the
    same snapshots. The year starts in the group's own month, else its department's.
    """
    chain = department_ancestor_ids(group.department_id)
    k = db.session.scalar(
        select(func.max(Department.suppression_threshold)).where(Department.id.in_(chain))
    )
    own = db.session.get(Department, group.department_id)
    return max(int(k or 5), 1), (group.fiscal_year_start_month
                                 or (own.fiscal_year_start_month if own else 1))


def compute_group(group_id: int, period: str) -> Values:
    """The unsuppressed values of one group-month (the coordinator's preview)."""
    group = db.session.get(PeerGroup, group_id)
    assert group is not None
    _, fy = _group_setup(group)
    with tenancy.group_context(group_id):
        return compute([group_id], period, tz=group.timezone, fy_start_month=fy)[group_id]


def closed_through(group_ids: Sequence[int], month: str, fy_start_month: int) -> dict[int, str]:
    """For each group, the month to close when `month` is (re)closed: `month` itself, or
    the latest month already closed in its reporting year, so that recomputing an earlier
    month never sets the quarter and year to date back."""
    key = year_span(month, fy_start_month).key
    out = dict.fromkeys(group_ids, month)
    for gid, through in db.session.execute(
        select(ReportSnapshot.group_id, func.max(ReportSnapshot.through))
        .where(ReportSnapshot.group_id.in_(list(group_ids)), ReportSnapshot.period == key)
        .group_by(ReportSnapshot.group_id)
    ):
        if through and through > month:
            out[gid] = through
    return out


def compute_group_set(group_id: int, month: str) -> tuple[list[Span], dict[str, Values]]:
    """The unsuppressed values of every period published when `month` closes (through the
    latest month already closed in its year, see `closed_through`)."""
    group = db.session.get(PeerGroup, group_id)
    assert group is not None
    _, fy = _group_setup(group)
    month = closed_through([group_id], month, fy)[group_id]
    spans = published_set(month, fy)
    with tenancy.group_context(group_id):
        values = compute_set(_session_run, [group_id], spans, tz=group.timezone,
                             fy_start_month=fy)[group_id]
    return spans, values


# --- snapshots -------------------------------------------------------------------------------


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def checksum(payload: dict) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


def latest_snapshot(group_id: int, period: str) -> ReportSnapshot | None:
    return db.session.scalar(
        select(ReportSnapshot)
        .where(ReportSnapshot.group_id == group_id, ReportSnapshot.period == period)
        .order_by(ReportSnapshot.version.desc())
        .limit(1)
    )


Seen = list[tuple[tuple[str, ...], dict[str, dict[str, float | None]]]]


def publish(spans: Sequence[Span], raw: dict[str, Values], k: int,
            keep: dict[str, set[tuple[str, str]]] | None = None, seen: Seen = ()  # type: ignore[assignment]
            ) -> dict[str, dict]:
    """The payloads the department sees for a published set: suppressed across periods
    (`keep`: cells earlier versions hid, which stay hidden; `seen`: what every earlier
    version showed, see `earlier_figures`)."""
    periods = [Period(s.key, tuple(s.months) if s.kind != "month" else ()) for s in spans]
    published = suppress_published_set({s.key: raw[s.key] for s in spans}, periods, k, keep,
                                       seen)
    return {s.key: {"schema": SCHEMA_VERSION, "period": s.key, "period_type": s.kind,
                    "first": s.first, "through": s.through, "threshold": k,
                    "values": published[s.key]} for s in spans}


def moved_indicators(before: dict, after: dict) -> list[str]:
    """Codes of the indicators with a published figure that moved between two payloads (a
    cell shown in both with different values); a cell newly hidden is not a move by itself
    (the month closing next can hide more to protect the year's other figures)."""
    old, new = before.get("values", {}), after.get("values", {})
    return [i.code for i in indicators.CATALOGUE
            if any(a is not None and b is not None and a != b
                   for a, b in ((old.get(i.code, {}).get(c), new.get(i.code, {}).get(c))
                                for c in i.cells))]


def still_hidden(payload: dict, raw: Values) -> set[tuple[str, str]]:
    """The cells an earlier version hid that stay hidden: those of every indicator whose
    shown figures are all unchanged (its data did not visibly change, so re-running the set
    must not show what was hidden). An indicator whose data changed is suppressed afresh."""
    out: set[tuple[str, str]] = set()
    for code, cells in payload.get("values", {}).items():
        now = raw.get(code, {})
        if all(v is None or now.get(cell) == v for cell, v in cells.items()):
            out |= {(code, cell) for cell, v in cells.items() if v is None}
    return out


def new_version(group_id: int, department_id: int, span: Span, payload: dict, reason: str,
                latest: tuple[int, str, int, str | None, dict] | None) -> ReportSnapshot | None:
    """The next version of one period unless its payload equals the latest one
    (`latest`: version, checksum, department id, through, payload). A new version of the
    same period through the same month is a revision: it records which indicators moved."""
    digest = checksum(payload)
    if latest is not None and latest[1] == digest and latest[2] == department_id:
        return None
    changed = None
    if latest is not None and latest[3] == span.through:
        changed = moved_indicators(latest[4], payload) or None
    headline, figures = indicators.figure_arrays(payload.get("values", {}))
    snapshot = ReportSnapshot(
        department_id=department_id, group_id=group_id, period=span.key,
        period_type=span.kind, through=span.through,
        version=latest[0] + 1 if latest else 1, payload=payload, checksum=digest,
        reason=reason, changed=changed, headline=headline, figures=figures)
    db.session.add(snapshot)
    return snapshot


def latest_versions(group_ids: Sequence[int], keys: Sequence[str]
                    ) -> dict[tuple[int, str], tuple[int, str, int, str | None, dict]]:
    """The latest version of each (group, period) among `keys`, in two statements."""
    newest = (
        select(ReportSnapshot.group_id, ReportSnapshot.period,
               func.max(ReportSnapshot.version).label("version"))
        .where(ReportSnapshot.group_id.in_(list(group_ids)),
               ReportSnapshot.period.in_(list(keys)))
        .group_by(ReportSnapshot.group_id, ReportSnapshot.period).subquery()
    )
    return {
        (row.group_id, row.period): (row.version, row.checksum, row.department_id, row.through,
                                     row.payload)
        for row in db.session.scalars(
            select(ReportSnapshot).join(newest, and_(
                newest.c.group_id == ReportSnapshot.group_id,
                newest.c.period == ReportSnapshot.period,
                newest.c.version == ReportSnapshot.version)))
    }


_PERSON_FIGURES = [(i, code, cell) for i, (code, cell) in enumerate(indicators.figure_layout())
                   if indicators.BY_CODE[code].counts_persons]


def earlier_figures(group_ids: Sequence[int], keys: Sequence[str], fy_start_month: dict[int, int],
                    through: dict[int, str]) -> dict[int, Seen]:
    """What the versions of the quarters and years among `keys` through an earlier month
    than `through[group]` showed of each group's person counts (the quarter to date and the
    year to date as each month closed, and the versions late corrections replaced), in one
    statement for all groups (their figure arrays, not the JSON payloads): for each group,
    (months the table covered, its values with None where hidden), one entry per distinct
    table. A department keeps what it read: the suppression takes what is still true of
    them as known (`harmnet.suppression.known_figures`); see `seen_figures`."""
    out: dict[int, Seen] = defaultdict(list)
    if not group_ids:
        return out
    rows = db.session.execute(
        select(ReportSnapshot.group_id, ReportSnapshot.period, ReportSnapshot.period_type,
               ReportSnapshot.through, ReportSnapshot.figures,
               case((ReportSnapshot.figures.is_(None), ReportSnapshot.payload)))
        .where(ReportSnapshot.group_id.in_(list(group_ids)),
               ReportSnapshot.period.in_(list(keys)), ReportSnapshot.period_type != "month")
        .order_by(ReportSnapshot.group_id, ReportSnapshot.period, ReportSnapshot.version))
    done: set[tuple] = set()
    for gid, period, kind, last, figures, payload in rows:
        if last is None or last >= through[gid] or (kind == "quarter"
                                                     and int(last[5:7]) % 3 == 0):
            continue  # a period's versions through its current month: see `seen_figures`
        key = (gid, period, last, tuple(figures) if figures is not None else None)
        if figures is not None and key in done:
            continue  # the same table shown again (another department, a re-run)
        done.add(key)
        span = quarter_span(last) if kind == "quarter" else year_span(last, fy_start_month[gid])
        values: dict[str, dict[str, float | None]] = defaultdict(dict)
        if figures is not None:
            n = len(figures)
            for i, code, cell in _PERSON_FIGURES:
                if i < n:
                    values[code][cell] = figures[i]
        else:
            for code, cells in (payload or {}).get("values", {}).items():
                values[code] = dict(cells)
        out[gid].append((tuple(span.months), values))
    return out


def seen_figures(group_id: int, spans: Sequence[Span], latest: dict, earlier: Seen) -> Seen:
    """What a department was shown that the suppression of `spans` must take as known: the
    latest version of each period through the same month (a figure it shows, unchanged,
    cannot protect another: and the suppression never hides again a figure shown with the
    same value, so older versions of the same table show nothing more unless the data
    moved in between) and the quarters and years to earlier months (`earlier_figures`)."""
    out: Seen = [(tuple(s.months), latest[(group_id, s.key)][4].get("values", {}))
                 for s in spans if (group_id, s.key) in latest
                 and latest[(group_id, s.key)][3] == s.through]
    return out + list(earlier)


def store_set(group_id: int, department_id: int, spans: Sequence[Span], raw: dict[str, Values],
              k: int, reason: str, latest: dict | None = None, record: bool = True,
              seen: Seen | None = None, fy_start_month: int = 1,
              keep: dict[str, set[tuple[str, str]]] | None = None
              ) -> list[tuple[ReportSnapshot | None, Span]]:
    """Suppress a published set and add a version of every period whose payload changed
    (None for the others). With `record` False the new snapshots are only added to the
    session: the caller flushes and records them (`record_created`), many groups at once.
    `seen`: what the quarters and years to an earlier month showed (`earlier_figures`;
    read here when None). `keep`: what `to_suppress` found, when the caller asked it.
    Flushes, never commits."""
    if latest is None:
        latest = latest_versions([group_id], [s.key for s in spans])
    if keep is None:
        keep = to_suppress(group_id, department_id, spans, raw, k, latest)
    if keep is None:
        return [(None, span) for span in spans]
    if seen is None:
        seen = earlier_figures([group_id], [s.key for s in spans], {group_id: fy_start_month},
                               {group_id: spans[-1].through}).get(group_id, [])
    payloads = publish(spans, raw, k, keep, seen_figures(group_id, spans, latest, seen))
    out = [(new_version(group_id, department_id, span, payloads[span.key], reason,
                        latest.get((group_id, span.key))), span) for span in spans]
    if record:
        record_created([snap for snap, _ in out if snap is not None])
    return out


def kept_hidden(group_id: int, spans: Sequence[Span], raw: dict[str, Values], latest: dict
                ) -> dict[str, set[tuple[str, str]]]:
    """Per period, the cells its latest version (through the same month) hid that stay
    hidden (`still_hidden`)."""
    return {s.key: still_hidden(latest[(group_id, s.key)][4], raw[s.key]) for s in spans
            if (group_id, s.key) in latest and latest[(group_id, s.key)][3] == s.through}


def to_suppress(group_id: int, department_id: int, spans: Sequence[Span],
                raw: dict[str, Values], k: int, latest: dict
                ) -> dict[str, set[tuple[str, str]]] | None:
    """None when publishing the set again would give its latest payloads (`unchanged_set`),
    else the cells that stay hidden (`kept_hidden`), for the suppression."""
    keep = kept_hidden(group_id, spans, raw, latest)
    return None if unchanged_set(group_id, department_id, spans, raw, k, latest, keep) else keep


def unchanged_set(group_id: int, department_id: int, spans: Sequence[Span],
                  raw: dict[str, Values], k: int, latest: dict,
                  keep: dict[str, set[tuple[str, str]]]) -> bool:
    """Whether publishing the set again would give exactly its latest payloads, known
    without running the suppression: every period's latest version covers the same months
    for the same department and threshold, shows every figure of `raw` as it is, and hides
    exactly the cells that stay hidden (`keep`). Then the latest payloads are what the
    suppression made of the same published figures, the same equations and the same hidden
    cells (a fixed point: no primary cell among the shown ones, no equation left with one
    hidden term, none pinned down), so it would return them unchanged. This is the usual
    case of the daily look for late corrections (tests/reports/test_unchanged.py checks
    the claim against `publish`)."""
    for span in spans:
        prev = latest.get((group_id, span.key))
        if prev is None or prev[2] != department_id or prev[3] != span.through:
            return False
        payload = prev[4]
        if (payload.get("schema") != SCHEMA_VERSION or payload.get("threshold") != k
                or payload.get("period_type") != span.kind or payload.get("first") != span.first
                or payload.get("through") != span.through):
            return False
        shown, now = payload.get("values", {}), raw[span.key]
        if shown.keys() != now.keys():
            return False
        hidden: set[tuple[str, str]] = set()
        for code, cells in now.items():
            published = shown[code]
            if published.keys() != cells.keys():
                return False
            for cell, value in cells.items():
                if published[cell] is None:
                    hidden.add((code, cell))
                elif published[cell] != value:
                    return False
        if hidden != keep.get(span.key, set()):
            return False
    return True


def record_created(snapshots: Sequence[ReportSnapshot]) -> None:
    """Flush new snapshots and add an audit event for each, in two flushes however many."""
    if not snapshots:
        return
    db.session.flush()
    audit.record_many("report.snapshot_created", "report_snapshot", [
        {"object_id": snap.id, "group_id": snap.group_id, "department_id": snap.department_id,
         "detail": {"period": snap.period, "version": snap.version}} for snap in snapshots])


def close_month(group_id: int, month: str, reason: str = "monthly"
                ) -> list[tuple[ReportSnapshot, bool]]:
    """Compute, suppress and store every period published when `month` closes (the month,
    its quarter and its year to date, and the year's earlier months and quarters, which a
    late correction may have changed); returns (current snapshot, created) per period."""
    group = db.session.get(PeerGroup, group_id)
    if group is None:
        raise ValueError("unknown group")
    k, fy = _group_setup(group)
    spans, raw = compute_group_set(group_id, month)
    out: list[tuple[ReportSnapshot, bool]] = []
    for snap, span in store_set(group.id, group.department_id, spans, raw, k, reason,
                                fy_start_month=fy):
        if snap is not None:
            out.append((snap, True))
        else:
            current = latest_snapshot(group.id, span.key)
            assert current is not None
            out.append((current, False))
    return out


def build_snapshot(group_id: int, period: str, reason: str = "monthly"
                   ) -> tuple[ReportSnapshot, bool]:
    """Close the month `period` for one group (see `close_month`); returns the month's
    (snapshot, created)."""
    for snap, created in close_month(group_id, period, reason):
        if snap.period == period:
            return snap, created
    raise AssertionError("the published set always holds its month")


def group_snapshots(group_id: int, limit: int = 60) -> list[ReportSnapshot]:
    """What was sent for a group, newest period and version first (the coordinator's view)."""
    return list(db.session.scalars(
        select(ReportSnapshot).where(ReportSnapshot.group_id == group_id)
        .order_by(ReportSnapshot.period.desc(), ReportSnapshot.version.desc()).limit(limit)
    ))


def groups_due(now_utc: datetime) -> list[tuple[int, str]]:
    """(group id, previous month) of every active group whose local time is day 1, 02:xx,
    plus groups whose previous month has no snapshot yet once that hour has passed (a
    worker that was down at 02:00 catches up)."""
    due: list[tuple[int, str]] = []
    groups = db.session.execute(
        select(PeerGroup.id, PeerGroup.timezone).where(PeerGroup.is_active.is_(True))
    ).all()
    candidates = {previous_month(now_utc.date()), previous_month(date(now_utc.year,
                                                                     now_utc.month, 28))}
    candidates |= {add_months(p, 1) for p in candidates} | {add_months(p, -1) for p in candidates}
    reported = {
        (gid, period) for gid, period in db.session.execute(
            select(ReportSnapshot.group_id, ReportSnapshot.period)
            .where(ReportSnapshot.period.in_(sorted(candidates))).distinct()
        )
    }
    for gid, tz in groups:
        local = now_utc.astimezone(ZoneInfo(tz))
        period = previous_month(local.date())
        if local.day == 1 and local.hour == 2 or (
            (local.day > 1 or local.hour > 2) and (gid, period) not in reported
        ):
            due.append((gid, period))
    return due


def groups_to_revise(now_utc: datetime) -> list[tuple[int, str]]:
    """(group id, month to close again) of every active group whose local time is 03:xx:
    its last closed month (which recomputes the reporting year so far), and in the first
    quarter of a reporting year also the previous year's last month. Cheap: reads ids,
    timezones and year starts only."""
    out: list[tuple[int, str]] = []
    for gid, tz, fy in db.session.execute(
        select(PeerGroup.id, PeerGroup.timezone,
               func.coalesce(PeerGroup.fiscal_year_start_month,
                             Department.fiscal_year_start_month))
        .join(Department, Department.id == PeerGroup.department_id)
        .where(PeerGroup.is_active.is_(True))
    ):
        local = now_utc.astimezone(ZoneInfo(tz))
        if local.hour != 3:
            continue
        month = previous_month(local.date())
        out.append((gid, month))
        first = year_span(month, fy or 1).first
        if month < add_months(first, 3):
            out.append((gid, add_months(first, -1)))
    return out


def work_due(now_utc: datetime) -> list[tuple[int, str, str]]:
    """(group id, month, reason) the hourly fan-out enqueues: months closing ("monthly")
    and the daily recomputation ("revision"), each (group, month) once. At 03:xx local a
    group that is catching up on its last month would otherwise be closed twice."""
    due = [(gid, period, "monthly") for gid, period in groups_due(now_utc)]
    seen = {(gid, period) for gid, period, _reason in due}
    for gid, period in groups_to_revise(now_utc):
        if (gid, period) not in seen:
            seen.add((gid, period))
            due.append((gid, period, "revision"))
    return due


# --- Department side: snapshots only ----------------------------------------------------------


@dataclass
class Cell:
    """A department sum: the published values added up, and how many were suppressed."""

    value: float = 0
    suppressed: int = 0
    reports: int = 0

    def add(self, value: int | float | None) -> None:
        self.reports += 1
        if value is None:
            self.suppressed += 1
        else:
            self.value += value

    @property
    def display(self) -> str:
        if self.reports and self.suppressed == self.reports:
            return "x"
        number = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        return number + ("+" if self.suppressed else "")


@dataclass
class Totals:
    """Indicator sums over a set of snapshots."""

    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)

    def add(self, values: dict) -> None:
        for code, cells in values.items():
            target = self.cells.setdefault(code, {})
            for key, value in cells.items():
                target.setdefault(key, Cell()).add(value)

    def headline(self, code: str) -> Cell:
        """The total of an indicator (services add up their cells)."""
        indicator = indicators.BY_CODE[code]
        cells = self.cells.get(code, {})
        if indicator.has_total:
            return cells.get(TOTAL, Cell())
        out = Cell()
        for cell in cells.values():
            out.value += cell.value
            out.suppressed += cell.suppressed
            out.reports = max(out.reports, cell.reports)
        if out.reports and out.suppressed and not out.value:
            out.reports = out.suppressed  # everything hidden: show as suppressed
        return out


def is_period_key(key: str) -> bool:
    """Whether `key` names a snapshot period (YYYY-MM, YYYY-Qn, YYYY or YYYY-FYmm)."""
    if len(key) == 9 and key[4:7] == "-FY" and key[:4].isdigit() and key[7:].isdigit():
        return 1 <= int(key[7:]) <= 12
    try:
        parse_spec(key)
    except ValueError:
        return False
    return True


def covered_through(snapshots: Iterable[ReportSnapshot]) -> str | None:
    """The last month the period's snapshots cover (a quarter or year so far)."""
    return max((s.through or s.period for s in snapshots), default=None)


@dataclass(frozen=True)
class Revision:
    group_id: int
    version: int
    generated_at: datetime
    changed: tuple[str, ...]


def revisions(snapshots: Iterable[ReportSnapshot]) -> list[Revision]:
    """The current snapshots that revise an earlier version (a late correction), newest
    first, with the indicators that moved."""
    return sorted(
        (Revision(s.group_id, s.version, s.generated_at, tuple(s.changed or ()))
         for s in snapshots if s.changed),
        key=lambda r: r.generated_at, reverse=True)


@dataclass
class Progress:
    """Progress against yearly targets: (indicator, value, target, percent, expected percent
    by now) per indicator, and how much of the year the figures cover."""

    rows: list[tuple[indicators.Indicator, Cell, int | None, int | None, int | None]]
    elapsed: int | None
    through: str | None


def target_progress(year_totals: Totals, year_targets: dict[str, int], year: Span,
                    through: str | None) -> Progress:
    """Each indicator's progress from its own aggregation (the year's snapshot: distinct
    persons of the year, the last month's state, the sum of events), against the share of
    the year its figures cover. A `last` indicator (a state) is compared as it stands: a
    share of the year means nothing for it."""
    elapsed = None
    if through is not None:
        covered = len(months_between(year.first, min(through, year.through)))
        elapsed = round(100 * covered / 12)
    rows = []
    for i in indicators.CATALOGUE:
        cell = year_totals.headline(i.code)
        target = year_targets.get(i.code)
        pct = round(100 * cell.value / target) if target else None
        expected = elapsed if target and i.aggregation != "last" else None
        rows.append((i, cell, target, pct, expected))
    return Progress(rows, elapsed, through)


def period_months(spec: str, fy_start_month: int = 1) -> list[str]:
    """Months of a period spec: YYYY-MM, YYYY-Qn (calendar quarter) or YYYY (reporting year
    starting in `fy_start_month` of that year)."""
    if len(spec) == 7 and spec[4] == "-" and spec[5:].isdigit():
        month_bounds(spec)  # validates
        return [spec]
    if len(spec) == 7 and spec[4:6] == "-Q" and spec[6] in "1234" and spec[:4].isdigit():
        first = f"{spec[:4]}-{(int(spec[6]) - 1) * 3 + 1:02d}"
        return [add_months(first, i) for i in range(3)]
    if len(spec) == 4 and spec.isdigit():
        first = f"{spec}-{fy_start_month:02d}"
        return [add_months(first, i) for i in range(12)]
    raise ValueError("bad period")


def among(column, values: Sequence, item_type):  # type: ignore[no-untyped-def]
    """`column IN values`; on PostgreSQL as `= ANY(one array parameter)`: a department
    subtree of hundreds of ids as as many parameters costs more to plan than to run, and
    more to render (SQLAlchemy names each one)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(item_type)))
    return column.in_(list(values))


def subtree_groups_stmt(department_id: int):  # type: ignore[no-untyped-def]
    """The groups of the department's subtree, by name (then id, for stable pages)."""
    return (
        select(PeerGroup)
        .where(among(PeerGroup.department_id, department_subtree_ids(department_id), BigInteger))
        .order_by(PeerGroup.name, PeerGroup.id)
    )


def subtree_groups_head(department_id: int, limit: int) -> tuple[list[PeerGroup], int]:
    """The first `limit` groups of the subtree by name, and how many there are in all."""
    stmt = subtree_groups_stmt(department_id)  # walks the department tree once
    count = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(db.session.scalars(stmt.limit(limit))), count


def subtree_groups(department_id: int) -> list[PeerGroup]:
    return list(db.session.scalars(subtree_groups_stmt(department_id)))


def current_snapshots(department_id: int, months: Sequence[str],
                      group_ids: Sequence[int] | None = None) -> list[ReportSnapshot]:
    """The latest version of each group-month sent to the department's subtree (only of
    `group_ids` when given)."""
    subtree = department_subtree_ids(department_id)
    newest = (
        select(ReportSnapshot.group_id, ReportSnapshot.period,
               func.max(ReportSnapshot.version).label("version"))
        .where(among(ReportSnapshot.department_id, subtree, BigInteger),
               ReportSnapshot.period.in_(list(months)))
        .group_by(ReportSnapshot.group_id, ReportSnapshot.period)
    )
    if group_ids is not None:
        newest = newest.where(ReportSnapshot.group_id.in_(list(group_ids)))
    newest_sq = newest.subquery()
    return list(db.session.scalars(
        select(ReportSnapshot).join(
            newest_sq,
            and_(ReportSnapshot.group_id == newest_sq.c.group_id,
                 ReportSnapshot.period == newest_sq.c.period,
                 ReportSnapshot.version == newest_sq.c.version),
        ).where(among(ReportSnapshot.department_id, subtree, BigInteger))
    ))


def totals(snapshots: Iterable[ReportSnapshot]) -> Totals:
    out = Totals()
    for snapshot in snapshots:
        out.add(snapshot.payload.get("values", {}))
    return out


def totals_by_group(snapshots: Iterable[ReportSnapshot]) -> dict[int, Totals]:
    out: dict[int, Totals] = defaultdict(Totals)
    for snapshot in snapshots:
        out[snapshot.group_id].add(snapshot.payload.get("values", {}))
    return out


def monthly_series(snapshots: Iterable[ReportSnapshot], months: Sequence[str]
                   ) -> dict[str, dict[str, Cell]]:
    """headline value per indicator per month."""
    by_month: dict[str, Totals] = defaultdict(Totals)
    for snapshot in snapshots:
        by_month[snapshot.period].add(snapshot.payload.get("values", {}))
    return {
        i.code: {m: by_month[m].headline(i.code) if m in by_month else Cell() for m in months}
        for i in indicators.CATALOGUE
    }


def completeness(department_id: int, months: Sequence[str]) -> dict[int, dict[str, int | None]]:
    """For every group of the subtree: the current version number per month, or None."""
    subtree = department_subtree_ids(department_id)
    rows = db.session.execute(
        select(ReportSnapshot.group_id, ReportSnapshot.period, func.max(ReportSnapshot.version))
        .where(ReportSnapshot.department_id.in_(subtree), ReportSnapshot.period.in_(list(months)))
        .group_by(ReportSnapshot.group_id, ReportSnapshot.period)
    ).all()
    out: dict[int, dict[str, int | None]] = defaultdict(lambda: dict.fromkeys(months))
    for gid, period, version in rows:
        out[gid][period] = version
    return out


def history(department_id: int, group_id: int, period: str) -> list[ReportSnapshot]:
    return list(db.session.scalars(
        select(ReportSnapshot)
        .where(ReportSnapshot.department_id.in_(department_subtree_ids(department_id)),
               ReportSnapshot.group_id == group_id, ReportSnapshot.period == period)
        .order_by(ReportSnapshot.version.desc())
    ))


def targets(department_id: int, year: int) -> dict[str, int]:
    return {
        t.indicator: t.value for t in db.session.scalars(
            select(Target).where(Target.department_id == department_id, Target.year == year)
        )
    }


def set_targets(department_id: int, year: int, values: dict[str, int | None]) -> None:
    existing = {
        t.indicator: t for t in db.session.scalars(
            select(Target).where(Target.department_id == department_id, Target.year == year)
        )
    }
    for code, value in values.items():
        if code not in indicators.BY_CODE:
            continue
        row = existing.get(code)
        if value is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(Target(department_id=department_id, indicator=code, year=year,
                                  value=value))
        else:
            row.value = value
    db.session.flush()
    audit.record("report.targets_set", "department", department_id,
                 department_id=department_id, year=year)

