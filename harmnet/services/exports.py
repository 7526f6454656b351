"""Department exports built from report snapshots only: CSV, XLSX, DHIS2 dataValueSets JSON
and ADX XML, with the department's editable code mapping. Suppressed cells are flagged
(CSV, XLSX) or left out (DHIS2, ADX); never written as 0.

DHIS2 gives a data element one category combination, so a disaggregated indicator's cells go
out under its data element with their category option combos, and its total either under a
data element of its own (the default, ``HN_<CODE>_TOTAL``) or not at all (mapping "-": DHIS2
computes it); ``default`` is used only by indicators without a breakdown. ADX follows the IHE
ADX profile: disaggregations are attributes named by the structure definition derived from
the catalogue (`structure`, `adx_schema`), e.g. ``SEX="F" AGE_BAND="18-24"``.
"""

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
#: A mapping code that leaves a total out of DHIS2 and ADX exports.
LEAVE_OUT = "-"


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
    if kind == "total":
        return "HN_" + _code(key) + "_TOTAL"
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
        "total": [i.code for i in indicators.CATALOGUE if i.disaggregation == "sex_age"],
        "coc": coc,
    }


@dataclass(frozen=True)
class DepartmentUnit:
    """A department as the org unit of a rolled-up export (its id is negated, so it never
    meets a group's id)."""

    id: int
    name: str
    code: str


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

    def group(self, group: PeerGroup | DepartmentUnit) -> str:
        """The org unit code of a group, or of a department (a rolled-up export)."""
        if isinstance(group, DepartmentUnit):
            return self.get("orgunit", f"dept:{group.code}")
        return self.get("orgunit", f"group:{group.slug}")

    def item(self, indicator: indicators.Indicator, cell: str) -> tuple[str, str] | None:
        """(data element, category option combo) of a cell for DHIS2, or None when the
        cell is not exported (a total the mapping leaves to DHIS2)."""
        if cell != indicators.TOTAL or indicator.disaggregation == "none":
            coc = "default" if indicator.disaggregation == "none" else self.get("coc", cell)
            return self.get("element", indicator.code), coc
        element = self.get("total", indicator.code)
        if element in (LEAVE_OUT, self.get("element", indicator.code)):
            return None  # never `default` beside the cells' combos in one data element
        return element, "default"

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
    group: PeerGroup | DepartmentUnit
    indicator: indicators.Indicator
    cell: str
    value: int | float | None  # None: suppressed
    #: The months the value covers (a quarter or year so far).
    first: str = ""
    through: str = ""

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
        first = snapshot.payload.get("first", snapshot.period)
        through = snapshot.through or snapshot.period
        for indicator in indicators.CATALOGUE:
            cells = values.get(indicator.code, {})
            for cell in indicator.cells:
                if cell in cells:
                    out.append(Row(snapshot.period, groups[snapshot.group_id], indicator, cell,
                                   cells[cell], first, through))
    return out


def export_rows(department_id: int, months: Sequence[str]) -> list[Row]:
    return rows(current_snapshots(department_id, months))


def rollup_rows(department_id: int, periods: Sequence[str]) -> list[Row]:
    """The department's own figures: every cell added up over the groups of its subtree,
    under the department's org unit. A cell that any group's report hid is left out (flagged
    suppressed in CSV): the sum of the shown parts would understate it."""
    department = db.session.get(Department, department_id)
    unit = DepartmentUnit(-department.id, department.name, department.code)
    sums: dict[tuple[str, str, str], int | float | None] = {}
    spans: dict[str, tuple[str, str]] = {}
    for snapshot in current_snapshots(department_id, periods):
        spans[snapshot.period] = (snapshot.payload.get("first", snapshot.period),
                                  max(spans.get(snapshot.period, ("", ""))[1],
                                      snapshot.through or snapshot.period))
        for code, cells in snapshot.payload.get("values", {}).items():
            for cell, value in cells.items():
                key = (snapshot.period, code, cell)
                before = sums.get(key, 0)
                sums[key] = None if value is None or before is None else before + value
    out: list[Row] = []
    for period in sorted(spans):
        for indicator in indicators.CATALOGUE:
            for cell in indicator.cells:
                if (period, indicator.code, cell) in sums:
                    value = sums[(period, indicator.code, cell)]
                    if isinstance(value, float):
                        value = round(value, indicator.decimals or 1)
                    out.append(Row(period, unit, indicator, cell, value,  # type: ignore[arg-type]
                                   *spans[period]))
    return out


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
    """CSV with a UTF-8 byte-order mark first, so that Excel shows Vietnamese correctly."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
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
    defs.append(["indicator", "name", "counts_persons", "aggregation", "definition",
                 "over_time"])
    for i in indicators.CATALOGUE:
        defs.append([_safe(codes.get("element", i.code)), i.name(locale), i.counts_persons,
                     i.aggregation, i.definition(locale), i.over_time(locale)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def dhis2_period(period: str) -> str:
    """A snapshot period as a DHIS2 period: 202405, 2024Q2, 2024, 2024April (a financial
    year starting in April)."""
    if "-FY" in period:
        return period[:4] + _MONTH_NAMES[int(period[-2:]) - 1]
    return period.replace("-", "")


def dhis2_values(rows_: Sequence[Row], codes: CodeMap) -> list[dict]:
    out = []
    for r in rows_:
        item = None if r.suppressed else codes.item(r.indicator, r.cell)
        if item is None:
            continue
        out.append({"dataElement": item[0], "period": dhis2_period(r.period),
                    "orgUnit": codes.group(r.group), "categoryOptionCombo": item[1],
                    "value": _number(r.value)})  # type: ignore[arg-type]
    return out


def to_dhis2(rows_: Sequence[Row], codes: CodeMap) -> dict:
    """A DHIS2 `dataValueSets` document; suppressed cells are left out."""
    return {"dataSet": codes.dataset, "completeDate": datetime.now(UTC).date().isoformat(),
            "dataValues": dhis2_values(rows_, codes)}


def to_dhis2_json(rows_: Sequence[Row], codes: CodeMap) -> str:
    return json.dumps(to_dhis2(rows_, codes), ensure_ascii=False, indent=1)


#: ADX codes of the age bands (an attribute value is a token: no "<").
AGE_BAND_CODES = {"<18": "0-17", "18-24": "18-24", "25-34": "25-34", "35-49": "35-49",
                  "50+": "50+"}
UNKNOWN_CODE = "U"


def adx_period(first: str, through: str) -> str:
    """An ISO 8601 time range: the first day and the number of months covered."""
    months = (int(through[:4]) - int(first[:4])) * 12 + int(through[5:]) - int(first[5:]) + 1
    return f"{first}-01/P{months}M" if months % 12 else f"{first}-01/P{months // 12}Y"


def adx_dimensions(indicator: indicators.Indicator, cell: str) -> dict[str, str]:
    """The ADX disaggregation attributes of a cell (none for a total)."""
    if cell == indicators.TOTAL:
        return {}
    if indicator.disaggregation == "service":
        return {"SERVICE": _code(cell)}
    if indicator.disaggregation == "commodity":
        return {"COMMODITY": _code(cell)}
    if cell == indicators.UNKNOWN:
        return {"SEX": UNKNOWN_CODE, "AGE_BAND": UNKNOWN_CODE}
    sex, band = cell.split(":", 1)
    return {"SEX": sex, "AGE_BAND": AGE_BAND_CODES[band]}


def structure(codes: CodeMap) -> dict:
    """The data structure definition of the ADX export, derived from the catalogue: each
    data element with the disaggregation attributes it carries, and each attribute's codes."""
    elements: dict[str, list[str]] = {}
    for i in indicators.CATALOGUE:
        dims = {"none": [], "sex_age": ["SEX", "AGE_BAND"], "service": ["SERVICE"],
                "commodity": ["COMMODITY"]}
        elements[codes.get("element", i.code)] = dims[i.disaggregation]
        if i.disaggregation == "sex_age":
            total = codes.get("total", i.code)
            if total != LEAVE_OUT:
                elements[total] = []
    return {
        "elements": elements,
        "codelists": {
            "SEX": [*indicators.SEX_NAMES, UNKNOWN_CODE],
            "AGE_BAND": [*AGE_BAND_CODES.values(), UNKNOWN_CODE],
            "SERVICE": [_code(s) for s in indicators.SERVICES],
            "COMMODITY": [_code(c) for c in indicators.CORE_COMMODITIES],
        },
    }


def adx_schema(codes: CodeMap) -> bytes:
    """An XML Schema of this project's ADX messages, generated from `structure`: the IHE ADX
    envelope (adx / group / dataValue, an ISO 8601 period range, decimal values) with the
    data elements and every disaggregation attribute restricted to their code lists."""
    xs = "http://www.w3.org/2001/XMLSchema"
    ET.register_namespace("xs", xs)
    dsd = structure(codes)
    root = ET.Element(f"{{{xs}}}schema", targetNamespace=ADX_NS,
                      elementFormDefault="qualified")
    root.set("xmlns", ADX_NS)

    def enum(name: str, values: Iterable[str]) -> None:
        simple = ET.SubElement(root, f"{{{xs}}}simpleType", name=name)
        restriction = ET.SubElement(simple, f"{{{xs}}}restriction", base="xs:token")
        for value in values:
            ET.SubElement(restriction, f"{{{xs}}}enumeration", value=value)

    enum("DataElementType", dsd["elements"])
    for name, values in dsd["codelists"].items():
        enum(f"{name}Type", values)
    period = ET.SubElement(root, f"{{{xs}}}simpleType", name="PeriodType")
    ET.SubElement(ET.SubElement(period, f"{{{xs}}}restriction", base="xs:token"),
                  f"{{{xs}}}pattern", value=r"\d{4}-\d{2}-\d{2}/P\d+[MY]")

    def complex_type(name: str, child: str, child_type: str,
                     attrs: list[tuple[str, str, str]]) -> None:
        ct = ET.SubElement(root, f"{{{xs}}}complexType", name=name)
        seq = ET.SubElement(ct, f"{{{xs}}}sequence", minOccurs="0" if not child else "1",
                            maxOccurs="unbounded" if child else "1")
        ET.SubElement(seq, f"{{{xs}}}element", name=child or "annotation",
                      type=child_type or "xs:string")
        for attr, type_, use in attrs:
            ET.SubElement(ct, f"{{{xs}}}attribute", name=attr, type=type_, use=use)
        ET.SubElement(ct, f"{{{xs}}}anyAttribute", processContents="skip")

    complex_type("AdxType", "group", "GroupType", [("exported", "xs:dateTime", "required")])
    complex_type("GroupType", "dataValue", "DataValueType", [
        ("orgUnit", "xs:token", "required"), ("period", "PeriodType", "required"),
        ("dataSet", "xs:token", "optional")])
    complex_type("DataValueType", "", "", [
        ("dataElement", "DataElementType", "required"), ("value", "xs:decimal", "required"),
        *((name, f"{name}Type", "optional") for name in dsd["codelists"])])
    ET.SubElement(root, f"{{{xs}}}element", name="adx", type="AdxType")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def to_adx(rows_: Sequence[Row], codes: CodeMap, flavour: str = "ihe") -> bytes:
    """ADX: one <group> per org unit and period, suppressed cells left out; the period is
    the months the values cover. `flavour` "ihe" (the profile: SEX,
    AGE_BAND and SERVICE attributes) or "dhis2" (DHIS2's categoryOptionCombo attribute)."""
    ET.register_namespace("", ADX_NS)
    root = ET.Element(f"{{{ADX_NS}}}adx",
                      exported=datetime.now(UTC).replace(microsecond=0).isoformat())
    groups: dict[tuple[str, str], ET.Element] = {}
    for r in rows_:
        item = None if r.suppressed else codes.item(r.indicator, r.cell)
        if item is None:
            continue
        key = (r.period, codes.group(r.group))
        element = groups.get(key)
        if element is None:
            element = ET.SubElement(root, f"{{{ADX_NS}}}group", orgUnit=key[1],
                                    period=adx_period(r.first, r.through), dataSet=codes.dataset)
            groups[key] = element
        attrs = {"dataElement": item[0], "value": _number(r.value)}  # type: ignore[arg-type]
        if flavour == "dhis2":
            if item[1] != "default":
                attrs["categoryOptionCombo"] = item[1]
        else:
            attrs.update(adx_dimensions(r.indicator, r.cell))
        ET.SubElement(element, f"{{{ADX_NS}}}dataValue", **attrs)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
