"""Inline SVG charts drawn on the server, so the report needs no script library and no network."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import fmt

#: Okabe-Ito colours (without yellow, which vanishes on white); distinguishable with colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")

WIDTH, HEIGHT = 380, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 10, 40


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass
class Series:
    name: str
    colour: str
    values: list[float | None]  # one per category; None or non-finite = no point


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = 5, min_step: float = 0.0) -> list[float]:
    """Round ticks (1, 2 or 5 times a power of ten, at least ``min_step`` apart) covering [low, high]."""
    if high <= low:  # one value: a band of +-5% around it
        pad = abs(low) * 0.05 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = max(min_step, next(m * power for m in (1, 2, 5, 10) if m * power >= raw))
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _tick_text(value: float, step: float) -> str:
    """As many decimals as the tick step needs: 0, 5, 10 or 0.25, 0.50 - never 4.0000."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


def _text(cls: str, x: float, y: float, text: str, anchor: str = "middle") -> str:
    return f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _frame(y_ticks: list[float], y_of: Callable[[float], float], label: str) -> list[str]:
    """Horizontal grid lines with their labels, and the axis label centred under the plot."""
    centre = LEFT + (WIDTH - LEFT - RIGHT) / 2
    parts = [_text("axis-label", centre, HEIGHT - 6, label)]
    step = y_ticks[1] - y_ticks[0]
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text("tick", LEFT - 4, y + 3, _tick_text(tick, step), anchor="end"))
    return parts


def _svg(title: str, parts: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def line_chart(title: str, categories: list[str], series: list[Series], x_label: str) -> Markup:
    """One line per series over ordered categories, with a hover title on every point."""
    points = [v for s in series for v in s.values if _finite(v)]
    ticks = nice_ticks(min(points, default=0.0), max(points, default=1.0))
    y_low, y_high = ticks[0], ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(i: int) -> float:
        return LEFT + plot_w * (i + 0.5) / len(categories)

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - (v - y_low) / (y_high - y_low))

    parts = _frame(ticks, y_of, x_label)
    for i, category in enumerate(categories):
        parts.append(_text("tick", x_of(i), HEIGHT - BOTTOM + 14, category))
    for s in series:
        xy = [(x_of(i), y_of(v), v, categories[i]) for i, v in enumerate(s.values) if _finite(v)]
        if len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in xy)
            parts.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="2" points="{path}"/>')
        for x, y, v, category in xy:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{s.colour}">'
                f"<title>{escape(s.name)} {escape(category)}: {fmt.number(v)}</title></circle>"
            )
    return _svg(title, parts)


def histogram(title: str, counts: list[int], edges: list[float], x_label: str) -> Markup:
    """Bars over [edges[i], edges[i+1]); tick labels at the edges as percentages."""
    ticks = nice_ticks(0, max(max(counts, default=1), 1), min_step=1)
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = edges[-1] - edges[0]

    def x_of(e: float) -> float:
        return LEFT + plot_w * (e - edges[0]) / span

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = _frame(ticks, y_of, x_label)
    for i, count in enumerate(counts):
        if count:
            x0, x1 = x_of(edges[i]), x_of(edges[i + 1])
            parts.append(
                f'<rect class="bar" x="{x0:.1f}" y="{y_of(count):.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
                f'height="{plot_h + TOP - y_of(count):.1f}"><title>[{edges[i] * 100:.0f}%, '
                f"{edges[i + 1] * 100:.0f}%): {count}</title></rect>"
            )
    for e in edges[:: max(1, (len(edges) - 1) // 5)]:
        parts.append(_text("tick", x_of(e), HEIGHT - BOTTOM + 14, f"{e * 100:.0f}%"))
    return _svg(title, parts)
