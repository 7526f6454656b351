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
