"""``inpaintbench datasets check NAME PATH``: is a local copy of a recipe's dataset complete?

For each split: is its folder there; for a listed split, which listed files are missing and which
files are not on the list; for a split defined by a rule, does the count match and does every name
follow the rule; can every image be decoded; and is no file name in two splits.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from .recipes import Recipe, Split

SHOWN = 5


@dataclass
class CheckReport:
    recipe: Recipe
    root: Path
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.lines.append(f"  problem: {text}")

    def format(self) -> str:
        verdict = (
            "complete"
            if self.complete
            else f"incomplete: {len(self.problems)} problem{'s' if len(self.problems) > 1 else ''}"
        )
        return "\n".join([f"{self.recipe.title} ({self.recipe.name}) at {self.root}", *self.lines, verdict])


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN:,} more" if len(names) > SHOWN else "")


def decode_error(path: Path) -> str | None:
    """Why the image cannot be decoded, or None. JPEGs decode at 1/8 scale: every block is still read."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
            im.load()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_dataset(name: str, root: Path, progress: bool = True) -> CheckReport:
    recipe = Recipe.load(name)
    report = CheckReport(recipe, root)
    if not root.is_dir():
        report.problem(f"{root} does not exist or is not a folder")
        return report
    owners: dict[str, str] = {}
    for split in recipe.splits.values():
        for file_name in _check_split(report, split, root, progress):
            if file_name in owners:
                report.problem(f"{file_name} is in both {owners[file_name]} and {split.name}")
            owners[file_name] = split.name
    return report


def _check_split(report: CheckReport, split: Split, root: Path, progress: bool) -> list[str]:
    """Check one split: a summary line, then its problems; returns the file names it holds."""
    folder = split.locate(root)
    if folder is None:
        report.lines.append(f"  {split.name}: missing")
        report.problem(f"{split.name}: no folder {' or '.join(split.folders)} under {root}")
        return []
    present = split.present(folder)
    label = f"{split.name} ({folder.relative_to(root).as_posix() or '.'}/)"
    problems = []
    if split.names is not None:
        listed, found = set(split.names), set(present)
        missing = [n for n in split.names if n not in found]
        extra = [n for n in present if n not in listed]
        if missing:
            problems.append(f"{len(missing):,} of {split.count:,} listed images missing: {_some(missing)}")
        if extra:
            problems.append(f"{len(extra):,} files not in the list: {_some(extra)}")
        ours = [n for n in present if n in listed]
    else:
        extra = [n for n in present if not split.follows_rule(n)]
        ours = [n for n in present if split.follows_rule(n)]
        if extra:
            problems.append(f"{len(extra):,} files do not follow the rule ({split.rule}): {_some(extra)}")
        if len(ours) != split.count:
            problems.append(f"{len(ours):,} images, expected {split.count:,}")
    unreadable = []
    for file_name in tqdm(
        ours, desc=f"decoding {split.name}", unit="img", disable=None if progress else True, file=sys.stderr
    ):
        error = decode_error(folder / file_name)
        if error is not None:
            unreadable.append(f"{file_name} ({error})")
    if unreadable:
        problems.append(f"{len(unreadable):,} unreadable images: {_some(unreadable)}")
    report.lines.append(
        f"  {label}: {len(ours):,} of {split.count:,} images{'' if problems else ', all readable'}"
    )
    for text in problems:
        report.problem(f"{label}: {text}")
    return ours
