"""Number formatting shared by the tables and the charts."""

from __future__ import annotations

import math


def number(value: float | None) -> str:
    """About four significant figures: 23.41 dB, 0.8123 SSIM, 123.4; "-" when there is no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.4f}"


def signed(value: float | None) -> str:
    """With an explicit sign, for differences; "-" alone still means no value."""
    text = number(value)
    return text if text.startswith("-") else f"+{text}"


def percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 100:.1f}%"
