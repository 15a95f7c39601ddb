"""Set-level metrics in a run: which share features, and what their values must say wherever shown.

A set-level metric (``SetMetric``: fid, kid) gets one value per (model, regime). Its per-image features
are stored with each batch's results (``store/results.py``) and the values are computed at the end of
every run from all the stored features, so a resumed run extracts features only for the rows it adds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from ...components import Metric, SetMetric

#: Per set-level metric, {(model, mask): (value, n)}, as ``ResultStore.set_values`` returns it.
SetValues = dict[str, dict[tuple[str, str], tuple[float, int]]]
T = TypeVar("T")


def set_metrics(metrics: dict[str, Metric]) -> dict[str, SetMetric]:
    return {name: m for name, m in metrics.items() if isinstance(m, SetMetric)}


def feature_groups(metrics: dict[str, Metric]) -> dict[str, list[str]]:
    """The set-level metrics among ``metrics`` (set up) by feature key: one extraction serves a group."""
    groups: dict[str, list[str]] = {}
    for name, metric in set_metrics(metrics).items():
        groups.setdefault(metric.feature_key(), []).append(name)
    return groups


def _described(call: Callable[[], T], fallback: Callable[[str], T]) -> T:
    """What a plugin says about its values; an error in it is shown in its place, since it must not cost
    the run its outputs."""
    try:
        return call()
    except Exception as exc:
        return fallback(f"{type(exc).__name__}: {exc}")


def _caveats(metric: SetMetric, n: int) -> list[str]:
    return _described(lambda: [str(line) for line in metric.caveats(n)], lambda e: [f"caveats() failed: {e}"])


def caveats(metrics: dict[str, SetMetric], values: SetValues) -> dict[str, list[str]]:
    """Each metric's warnings over all its values, once each, in order."""
    return {
        name: list(
            dict.fromkeys(line for _, n in values.get(name, {}).values() for line in _caveats(metric, n))
        )
        for name, metric in metrics.items()
    }


def run_json_section(metrics: dict[str, SetMetric], values: SetValues) -> dict[str, Any]:
    """run.json's ``set_metrics``: per metric its conventions, its values and the warnings they carry."""
    warnings = caveats(metrics, values)
    return {
        name: {
            "description": metric.description,
            "higher_is_better": metric.higher_is_better,
            "conventions": _described(metric.conventions, lambda error: {"error": error}),
            "values": [
                {
                    "model": model,
                    "mask": mask,
                    "value": None if math.isnan(value) else value,
                    "n": n,
                    "warnings": _caveats(metric, n),
                }
                for (model, mask), (value, n) in values.get(name, {}).items()
            ],
            "warnings": warnings[name],
        }
        for name, metric in metrics.items()
    }


def table_notes(metrics: dict[str, SetMetric], values: SetValues) -> list[str]:
    """The lines under the terminal table: how to read set-level columns, and their warnings."""
    names = [name for name in metrics if values.get(name)]
    if not names:
        return []
    lines = [f"{', '.join(names)}: one value per row over its n images (set-level: no ±)"]
    for name, found in caveats(metrics, values).items():
        lines.extend(f"warning: {name}: {line}" for line in found)
    return lines
