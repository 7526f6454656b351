"""Server-rendered SVG trend charts: geometry only; the template draws it with SVG
presentation attributes (the CSP forbids inline styles, and no chart library is loaded)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..services.reports import Cell

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 320, 140, 16, 22, 4


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # month number
    text: str  # value shown above the bar
    suppressed: bool


def bar_chart(series: dict[str, Cell], months: Sequence[str]) -> dict:
    peak = max((c.value for c in series.values()), default=0) or 1
    slot = (WIDTH - LEFT * 2) / max(len(months), 1)
    plot = HEIGHT - TOP - BOTTOM
    bars = []
    for i, month in enumerate(months):
        cell = series.get(month, Cell())
        h = plot * (cell.value / peak)
        bars.append(Bar(
            x=round(LEFT + i * slot + slot * 0.15, 1), y=round(TOP + plot - h, 1),
            width=round(slot * 0.7, 1), height=round(h, 1), label=month[5:],
            text=cell.display if cell.reports else "", suppressed=bool(cell.suppressed),
        ))
    return {"width": WIDTH, "height": HEIGHT, "base": HEIGHT - BOTTOM, "bars": bars,
            "slot": slot}


# --- sparklines -----------------------------------------------------------------------------

SPARK_W, SPARK_H, SPARK_PAD = 120, 32, 3


@dataclass
class Sparkline:
    """A small line of twelve months: `path` joins the months known exactly (broken at
    every gap), `dots` marks a month that stands alone between gaps, `target` is the
    dashed target line (path, may be empty), `last` the latest point (None: a gap)."""

    width: int
    height: int
    path: str
    dots: list[tuple[float, float]]
    target: str
    last: tuple[float, float] | None
    gaps: int


def sparkline(cells: Sequence[Cell | None], targets: Sequence[float | None] = ()) -> Sparkline:
    """Geometry of a sparkline. A month is drawn only when it is known exactly (reported,
    nothing hidden): a hidden or partly hidden month, or one without reports, is a gap, so
    the line never shows more than the published figures do."""
    known = [c.value if c is not None and c.reports and not c.suppressed else None
             for c in cells]
    line_targets = list(targets) or [None] * len(cells)
    peak = max([v for v in known if v is not None] + [t for t in line_targets if t is not None],
               default=0) or 1
    step = (SPARK_W - 2 * SPARK_PAD) / max(len(cells) - 1, 1)
    plot = SPARK_H - 2 * SPARK_PAD

    def point(i: int, v: float) -> tuple[float, float]:
        return round(SPARK_PAD + i * step, 1), round(SPARK_PAD + plot * (1 - v / peak), 1)

    def path(values: Sequence[float | None]) -> tuple[str, list[tuple[float, float]]]:
        parts: list[str] = []
        alone: list[tuple[float, float]] = []
        run: list[tuple[float, float]] = []
        for i, v in enumerate([*values, None]):
            if v is not None:
                run.append(point(i, v))
                continue
            if len(run) == 1:
                alone.append(run[0])
            elif run:
                parts.append("M" + " L".join(f"{x:g} {y:g}" for x, y in run))
            run = []
        return " ".join(parts), alone

    line, dots = path(known)
    target_line, _ = path(line_targets)
    last = point(len(known) - 1, known[-1]) if known and known[-1] is not None else None
    dots = [d for d in dots if d != last]  # the latest point has its own, larger mark
    return Sparkline(SPARK_W, SPARK_H, line, dots, target_line, last,
                     sum(v is None for v in known))
