"""Department exports built from report snapshots only: CSV, XLSX, DHIS2 dataValueSets JSON
and ADX XML, with the department's editable code mapping. Suppressed cells are flagged
(CSV, XLSX) or left out (DHIS2, ADX); never written as 0."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from sqlalchemy import func, select

from .. import indicators
from ..extensions import db
from ..models import CodeMapping, Department, PeerGroup, ReportSnapshot
from ..models.reports import MAPPING_KINDS
from . import audit
from .reports import current_snapshots

ADX_NS = "urn:ihe:qrph:adx:2015"
DEFAULT_DATASET = "HARMNET_MONTHLY"


def _code(text: str) -> str:
    text = text.replace("<", "LT").replace("+", "PLUS")
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()


def default_code(kind: str, key: str) -> str:
    """The code used when a manager has not set one."""
    if kind == "dataset":
        return DEFAULT_DATASET
    if kind == "orgunit":
        return _code(key.split(":", 1)[1])
    if kind == "element":
        return "HN_" + _code(key)
    if kind == "coc":
        return "default" if key == indicators.TOTAL else _code(key)
    raise ValueError(kind)


def mapping_keys(department_id: int) -> dict[str, list[str]]:
    """Every key a department's exports may need a code for, by kind."""
    from .reports import subtree_groups

    coc: list[str] = []
    for indicator in indicators.CATALOGUE:
        coc.extend(c for c in indicator.cells if c not in coc)
    department = db.session.get(Department, department_id)
    return {
        "dataset": [""],
        "orgunit": [f"dept:{department.code}"] + [f"group:{g.slug}"
                                                   for g in subtree_groups(department_id)],
        "element": [i.code for i in indicators.CATALOGUE],
        "coc": coc,
    }


@dataclass
class CodeMap:
    """Codes for one department: stored values, defaults for the rest."""

    stored: dict[tuple[str, str], str]
    #: Every code worked out once: an export of a thousand groups asks for the same few
    #: hundred codes 230,000 times, and a default code costs a regular expression.
    _known: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def get(self, kind: str, key: str) -> str:
        code = self._known.get((kind, key))
        if code is None:
            code = self.stored.get((kind, key)) or default_code(kind, key)
            self._known[(kind, key)] = code
        return code

    def group(self, group: PeerGroup) -> str:
        return self.get("orgunit", f"group:{group.slug}")

    @property
    def dataset(self) -> str:
        return self.get("dataset", "")


def code_map(department_id: int) -> CodeMap:
    rows = db.session.scalars(select(CodeMapping).where(CodeMapping.department_id == department_id))
    return CodeMap({(r.kind, r.key): r.code for r in rows})


def save_mapping(department_id: int, codes: dict[tuple[str, str], str]) -> int:
    """Store the codes that differ from the defaults; returns how many are stored."""
    existing = {
        (r.kind, r.key): r for r in db.session.scalars(
            select(CodeMapping).where(CodeMapping.department_id == department_id))
    }
    for (kind, key), code in codes.items():
        if kind not in MAPPING_KINDS:
            continue
        row = existing.get((kind, key))
        if not code or code == default_code(kind, key):
            if row is not None:
                db.session.delete(row)
            continue
        if row is None:
            db.session.add(CodeMapping(department_id=department_id, kind=kind, key=key,
                                       code=code))
        else:
            row.code = code
    db.session.flush()
    audit.record("report.mapping_saved", "department", department_id,
                 department_id=department_id)
    return int(db.session.scalar(
        select(func.count()).select_from(CodeMapping)
        .where(CodeMapping.department_id == department_id)) or 0)


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    period: str
    group: PeerGroup
    indicator: indicators.Indicator
    cell: str
    value: int | float | None  # None: suppressed

    @property
    def suppressed(self) -> bool:
        return self.value is None


def rows(snapshots: Iterable[ReportSnapshot]) -> list[Row]:
    snapshots = list(snapshots)
    groups = {
        g.id: g for g in db.session.scalars(
            select(PeerGroup).where(PeerGroup.id.in_({s.group_id for s in snapshots})))
    }
    out: list[Row] = []
    for snapshot in sorted(snapshots, key=lambda s: (s.period, groups[s.group_id].name)):
        values = snapshot.payload.get("values", {})
        for indicator in indicators.CATALOGUE:
            cells = values.get(indicator.code, {})
            for cell in indicator.cells:
                if cell in cells:
                    out.append(Row(snapshot.period, groups[snapshot.group_id], indicator, cell,
                                   cells[cell]))
    return out


def export_rows(department_id: int, months: Sequence[str]) -> list[Row]:
    return rows(current_snapshots(department_id, months))


def _number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


HEADER = ("period", "org_unit", "group", "indicator", "indicator_name", "disaggregation",
          "disaggregation_name", "value", "flag")


def _table(rows_: Sequence[Row], codes: CodeMap, locale: str) -> list[list[object]]:
    """The export's lines, spreadsheet-safe. The texts of each group and of each indicator
    cell are worked out once: a thousand groups' month is some 80,000 lines."""
    groups: dict[int, tuple[object, object]] = {}
    items: dict[tuple[str, str], tuple[object, object, object, object]] = {}
    table: list[list[object]] = []
    for r in rows_:
        group = groups.get(r.group.id)
        if group is None:
            group = groups[r.group.id] = (_safe(codes.group(r.group)), _safe(r.group.name))
        item = items.get((r.indicator.code, r.cell))
        if item is None:
            item = items[(r.indicator.code, r.cell)] = (
                _safe(codes.get("element", r.indicator.code)), _safe(r.indicator.name(locale)),
                _safe(codes.get("coc", r.cell)), _safe(indicators.cell_label(r.cell, locale)))
        table.append([r.period, *group, *item, "" if r.suppressed else r.value,
                      "suppressed" if r.suppressed else ""])
    return table


def _safe(value: object) -> object:
    """A text starting with = + - @ would run as a formula in a spreadsheet (a group name,
    a code a manager typed)."""
    if isinstance(value, str) and value and value[0] in "=+-@":
        return "'" + value
    return value


def to_csv(rows_: Sequence[Row], codes: CodeMap, locale: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(_table(rows_, codes, locale))
    return buffer.getvalue()


def to_xlsx(rows_: Sequence[Row], codes: CodeMap, locale: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(list(HEADER))
    for line in _table(rows_, codes, locale):
        sheet.append(line)
    defs = book.create_sheet("definitions")
    defs.append(["indicator", "name", "counts_persons", "definition"])
    for i in indicators.CATALOGUE:
        defs.append([_safe(codes.get("element", i.code)), i.name(locale), i.counts_persons,
                     i.definition(locale)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def dhis2_period(period: str) -> str:
    return period.replace("-", "")


def to_dhis2(rows_: Sequence[Row], codes: CodeMap) -> dict:
    """A DHIS2 `dataValueSets` document; suppressed cells are left out."""
    return {
        "dataSet": codes.dataset,
        "completeDate": datetime.now(UTC).date().isoformat(),
        "dataValues": [
            {
                "dataElement": codes.get("element", r.indicator.code),
                "period": dhis2_period(r.period),
                "orgUnit": codes.group(r.group),
                "categoryOptionCombo": codes.get("coc", r.cell),
                "value": _number(r.value),  # type: ignore[arg-type]
            }
            for r in rows_ if not r.suppressed
        ],
    }


def to_dhis2_json(rows_: Sequence[Row], codes: CodeMap) -> str:
    return json.dumps(to_dhis2(rows_, codes), ensure_ascii=False, indent=1)


def to_adx(rows_: Sequence[Row], codes: CodeMap) -> bytes:
    """ADX: one <group> per org unit and month; suppressed cells are left out."""
    ET.register_namespace("", ADX_NS)
    root = ET.Element(f"{{{ADX_NS}}}adx",
                      exported=datetime.now(UTC).replace(microsecond=0).isoformat())
    groups: dict[tuple[str, str], ET.Element] = {}
    for r in rows_:
        if r.suppressed:
            continue
        key = (r.period, codes.group(r.group))
        element = groups.get(key)
        if element is None:
            element = ET.SubElement(root, f"{{{ADX_NS}}}group", orgUnit=key[1],
                                    period=f"{r.period}-01/P1M", dataSet=codes.dataset)
            groups[key] = element
        attrs = {"dataElement": codes.get("element", r.indicator.code),
                 "value": _number(r.value)}  # type: ignore[arg-type]
        if r.cell != indicators.TOTAL:
            attrs["categoryOptionCombo"] = codes.get("coc", r.cell)
        ET.SubElement(element, f"{{{ADX_NS}}}dataValue", **attrs)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
