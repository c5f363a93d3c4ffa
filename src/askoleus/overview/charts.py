"""Server-rendered SVG charts for the overview: stacked daily bars and daily lines.

Plain SVG with presentation attributes only (no script, no style attribute), so it runs under the
console's CSP; a viewBox scales it to the container (375 px phones included). Each chart has a
<title> and a <desc> summary and each day a tooltip; the console puts the numbers in a table too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Any

W, H = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 42, 8, 10, 26
PLOT_W, PLOT_H = W - LEFT - RIGHT, H - TOP - BOTTOM
FONT = 'font-family="system-ui, sans-serif" font-size="11" fill="#444"'


@dataclass(frozen=True)
class Series:
    """One series: its key in the day entries, label, colour and (lines) dash pattern."""

    key: str
    label: str
    color: str
    dash: str = ""


STATUS_SERIES = (
    Series("answered", "Answered", "#1f5f46"),
    Series("not_covered", "Not covered", "#c98500"),
    Series("medical_referral", "Medical referral", "#2f6db5"),
    Series("emergency", "Emergency", "#b3261e"),
)
RATE_SERIES = (
    Series("not_covered_rate", "Not-covered rate", "#c98500"),
    Series("thumbs_down_rate", "Thumbs-down rate", "#6a3d9a", "5 3"),
)
LATENCY_SERIES = (
    Series("p50_ms", "Median", "#1f5f46"),
    Series("p95_ms", "95th percentile", "#b3261e", "5 3"),
)


def nice_max(value: float) -> float:
    """A round axis maximum ≥ value: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    return float(next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= value))


def short_date(iso: str) -> str:
    """'2025-03-05' → 'Mar 5'."""
    d = date.fromisoformat(iso)
    return f"{d:%b} {d.day}"


def _fmt(v: float, percent: bool) -> str:
    if percent:
        pct = round(v * 100, 1)
        return f"{pct:.0f}%" if pct == int(pct) else f"{pct:.1f}%"
    return f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


def _frame(name: str, title: str, desc: str, ymax: float, percent: bool, dates: Sequence[str], body: list[str]) -> str:
    """The SVG around a plot: title, description, y grid with labels, x date labels."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart-svg"'
        f' aria-labelledby="{name}-title {name}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{name}-title">{escape(title)}</title><desc id="{name}-desc">{escape(desc)}</desc>',
    ]
    for i in range(5):
        v = ymax * i / 4
        y = TOP + PLOT_H - PLOT_H * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dde3e0"/>')
        parts.append(f'<text x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{_fmt(v, percent)}</text>')
    n = len(dates)
    ticks = sorted({round(i * (n - 1) / 4) for i in range(5)}) if n > 1 else [0] * n
    for i in ticks:
        x = LEFT + PLOT_W * (i + 0.5) / n
        parts.append(f'<text x="{x:.1f}" y="{H - 8}" text-anchor="middle" {FONT}>{escape(short_date(dates[i]))}</text>')
    parts += body
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(name: str, title: str, days: Sequence[dict[str, Any]], series: Sequence[Series]) -> str:
    """Daily bars stacked by series (e.g. questions per day by status)."""
    totals = [sum(d.get(s.key) or 0 for s in series) for d in days]
    ymax = nice_max(max(totals, default=0))
    n = max(len(days), 1)
    slot = PLOT_W / n
    bar = max(slot * 0.8, 0.6)
    body = []
    for i, d in enumerate(days):
        x = LEFT + slot * i + (slot - bar) / 2
        y: float = TOP + PLOT_H
        tip = f"{d['date']}: {totals[i]:,} — " + ", ".join(f"{s.label.lower()} {d.get(s.key) or 0:,}" for s in series)
        rects = []
        for s in series:
            h = PLOT_H * (d.get(s.key) or 0) / ymax
            if h > 0:
                y -= h
                rects.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar:.2f}" height="{h:.2f}" fill="{s.color}"/>')
        body.append(f"<g><title>{escape(tip)}</title>{''.join(rects)}</g>")
    peak = max(range(len(totals)), key=lambda i: totals[i], default=None)
    desc = f"{sum(totals):,} questions over {len(days)} days"
    if peak is not None and totals[peak]:
        desc += f"; busiest day {days[peak]['date']} with {totals[peak]:,}"
    return _frame(name, title, desc + ".", ymax, False, [d["date"] for d in days], body)


def lines(
    name: str,
    title: str,
    days: Sequence[dict[str, Any]],
    series: Sequence[Series],
    *,
    percent: bool = False,
    describe: Callable[[Series, list[float]], str] | None = None,
) -> str:
    """Daily lines, one per series; a day without a value (None) breaks its line."""
    values = [v for d in days for s in series if (v := d.get(s.key)) is not None]
    ymax = nice_max(max(values, default=0.0))
    if percent:
        ymax = min(ymax, 1.0)
    n = max(len(days), 1)
    body, descs = [], []
    for s in series:
        runs: list[list[str]] = [[]]
        got: list[float] = []
        for i, d in enumerate(days):
            v = d.get(s.key)
            if v is None:
                runs.append([])
                continue
            got.append(float(v))
            x = LEFT + PLOT_W * (i + 0.5) / n
            y = TOP + PLOT_H - PLOT_H * float(v) / ymax
            runs[-1].append(f"{x:.1f},{y:.1f}")
            shown = _fmt(float(v), percent) if percent else f"{v:g}"
            tip = f"{d['date']}: {s.label.lower()} {shown}"
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{s.color}"><title>{escape(tip)}</title></circle>'
            )
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for run in runs:
            if len(run) > 1:
                body.insert(
                    0,
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{s.color}" stroke-width="2"{dash}/>',
                )
        if describe:
            descs.append(describe(s, got))
        elif got:
            descs.append(f"{s.label}: from {_fmt(min(got), percent)} to {_fmt(max(got), percent)}")
        else:
            descs.append(f"{s.label}: no data")
    return _frame(name, title, "; ".join(descs) + ".", ymax, percent, [d["date"] for d in days], body)


def overview_charts(data: dict[str, Any]) -> dict[str, str]:
    """The overview's charts as SVG documents, by name."""
    days = data["daily"]
    by_date = {x["date"]: x for x in data["latency"]}
    latency_days = [{"date": d["date"], **by_date.get(d["date"], {})} for d in days]
    return {
        "volume": stacked_bars("chart-volume", "Questions per day by status", days, STATUS_SERIES),
        "rates": lines("chart-rates", "Not-covered and thumbs-down rates per day", days, RATE_SERIES, percent=True),
        "latency": lines("chart-latency", "Answer latency per day (milliseconds)", latency_days, LATENCY_SERIES),
    }
