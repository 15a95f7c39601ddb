"""Collecting every violated clause of one component's contract, and raising them together.

A check keeps going after a violation wherever the next clause can still be judged, so a plugin author
sees everything that is wrong in one test run rather than one problem per run.
"""

from __future__ import annotations

from collections.abc import Callable

#: How many details of one clause the message shows before summing up the rest.
SHOWN = 3


class ContractError(AssertionError):
    """A component breaks its kind's contract. ``violations`` holds (clause, detail) pairs in the order
    found; the message names the component and lists them. An AssertionError, so pytest reports it as a
    failed test (not an error) with the message in full."""

    def __init__(self, component: str, violations: list[tuple[str, str]]) -> None:
        self.component = component
        self.violations = violations
        by_clause: dict[str, list[str]] = {}
        for clause, detail in violations:
            by_clause.setdefault(clause, []).append(detail)
        lines = [f"{component} breaks the inpaintbench contract:"]
        for clause, details in by_clause.items():
            lines += [f"  - {clause}: {detail}" for detail in details[:SHOWN]]
            if len(details) > SHOWN:
                lines.append(f"  - {clause}: ... and {len(details) - SHOWN} more like these")
        super().__init__("\n".join(lines))

    @property
    def clauses(self) -> set[str]:
        """The names of the violated clauses."""
        return {clause for clause, _ in self.violations}


def label(component: object) -> str:
    """``model 'mean_fill' (inpaintbench.models.mean_fill.MeanFill)``: what the user types and where the
    class lives, so the message leads straight to the code."""
    cls = type(component)
    spec = getattr(component, "spec", None) or getattr(cls, "name", "") or "?"
    kind = getattr(cls, "kind", "") or "component"
    return f"{kind} '{spec}' ({cls.__module__}.{cls.__qualname__})"


class Report:
    """The violations found so far for one component."""

    def __init__(self, component: object) -> None:
        self.component = label(component)
        self.violations: list[tuple[str, str]] = []

    def fail(self, clause: str, detail: str) -> None:
        self.violations.append((clause, detail))

    def judge(self, clause: str, check: Callable[[], str | None], where: str = "") -> bool:
        """Run ``check`` (None: the clause holds; else what is wrong); an exception from the component's
        code counts against the clause. True when it holds."""
        try:
            detail = check()
        except Exception as exc:
            detail = f"raised {type(exc).__name__}: {exc}"
        if detail is not None:
            self.fail(clause, f"{where}{detail}")
        return detail is None

    def raise_if_any(self) -> None:
        if self.violations:
            raise ContractError(self.component, self.violations)
