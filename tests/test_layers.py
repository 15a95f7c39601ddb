"""The package's floors: nothing imports from a floor above its own.

From the bottom: the shared low modules (errors, components, hookspecs, cache, seeding, device,
options, exchange), then the built-in components (datasets, masks, models, metrics: the source, the
masks, the model and the metrics of a run), then the run and what is built on it (plugins, runner,
report, frozen sets, exports, the CLI, the plugin kit). A component that imported the runner would be
tested only with it, and a change there would reach every plugin. Imports only for type checking
(under ``if TYPE_CHECKING:``) name types, not code, and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "inpaintbench"
LOW = {"errors", "components", "hookspecs", "cache", "seeding", "device", "options", "exchange"}
COMPONENTS = {"datasets", "masks", "models", "metrics"}


def floor(module: str) -> int:
    """0 for the low modules, 1 for the built-in components, 2 for everything built on the run."""
    top = module.split(".")[1] if "." in module else ""
    return 0 if top in LOW else 1 if top in COMPONENTS else 2


def module_of(path: Path) -> str:
    return ".".join(("inpaintbench", *path.relative_to(PACKAGE).with_suffix("").parts))


def imports(source: str, module: str) -> list[str]:
    """The inpaintbench modules the source of ``module`` imports at run time (relative imports
    resolved)."""
    package = module.removesuffix(".__init__") if module.endswith(".__init__") else module.rpartition(".")[0]
    tree = ast.parse(source)
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found += [f"{target}.{alias.name}" if not node.module else target for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name == "inpaintbench" or name.startswith("inpaintbench.")]


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if floor(module_of(p)) < 2)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_import_from_a_floor_above(path):
    module = module_of(path)
    above = [name for name in imports(path.read_text(), module) if floor(name) > floor(module)]
    assert not above, f"{path.relative_to(PACKAGE)} imports {above}"


def test_the_check_sees_an_upward_import():
    source = """
from typing import TYPE_CHECKING
from ..runner.pngs import write_png
from ..errors import InpaintbenchError
if TYPE_CHECKING:
    from ..runner.store import Row
def later():
    from inpaintbench.report import render
    import inpaintbench.cli
"""
    found = imports(source, "inpaintbench.models.fake")
    assert found == [
        "inpaintbench.runner.pngs",
        "inpaintbench.errors",
        "inpaintbench.report",
        "inpaintbench.cli",
    ]
    assert [name for name in found if floor(name) > floor("inpaintbench.models.fake")] == [
        "inpaintbench.runner.pngs",
        "inpaintbench.report",
        "inpaintbench.cli",
    ]
