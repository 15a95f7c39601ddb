"""Whether each requested model finished: complete, partial or failed, per regime and overall.

A model that fails partway keeps its finished rows, but a mean over a subset of the images is not
comparable with a mean over all of them, so every output says so and the report never ranks it as
best. Status is computed from the store, so a resumed run that finishes a model makes it complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

COMPLETE, PARTIAL, FAILED = "complete", "partial", "failed"


def regime_status(rows: int, expected: int) -> str:
    return COMPLETE if rows >= expected else (FAILED if rows == 0 else PARTIAL)


def overall(regime_statuses: Iterable[str]) -> str:
    """A model's status from its regimes': complete when every regime is, failed when none has a
    row, partial otherwise."""
    found = set(regime_statuses)
    if found <= {COMPLETE}:
        return COMPLETE
    return FAILED if found <= {FAILED} else PARTIAL


def statuses(
    counts: dict[tuple[str, str], int], models: list[str], regimes: list[str], expected: int
) -> dict:
    """``{model: {"status": ..., "regimes": {regime: {"rows", "expected", "status"}}}}``."""
    out = {}
    for model in models:
        per_regime = {}
        for regime in regimes:
            rows = counts.get((model, regime), 0)
            per_regime[regime] = {"rows": rows, "expected": expected, "status": regime_status(rows, expected)}
        out[model] = {"status": overall(e["status"] for e in per_regime.values()), "regimes": per_regime}
    return out


def note(entry: dict[str, Any], held_out: bool, reference: bool = False) -> str:
    """The terminal's note for one (model, regime): '' when complete, held out and asked for."""
    parts = ["reference"] if reference else []
    if entry["status"] != COMPLETE:
        parts.append(f"partial: {entry['rows']} of {entry['expected']} images")
    if not held_out:
        parts.append("not held-out")
    return "; ".join(parts)
