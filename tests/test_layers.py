"""The package's floors: nothing imports from a floor above its own, and no two modules import each
other, however indirectly.

From the bottom: the shared low modules (errors, the component base classes, hook specs, image files,
atomic writes and the run folder's layout, status names, the version); the built-in components (masks;
datasets, which may draw masks, as LaMa's crop protocol does; models and metrics, which import neither
each other nor the runner); the plugin registry; the runner's stages in the order a batch goes through
them; the report (built from a folder's files); the run that ties the stages together; and what is
built on runs: frozen sets, exports, the scaffold, the CLI, the plugin kit and the public API. A
component that imported the runner would be tested only with it, and a change there would reach every
plugin. Imports only for type checking (under ``if TYPE_CHECKING:``) name types, not code, and are not
counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "inpaintbench"
LOW = "errors components hookspecs cache seeding device options exchange version images status summary files"
#: Bottom to top; each entry is one floor, its words the rooms on it. A module may import from its own
#: room and from any floor below.
FLOORS = [
    LOW.split(),
    ["masks"],
    ["datasets"],
    ["models", "metrics"],
    ["plugins"],
    ["runner.shared"],
    ["runner.plan"],
    ["runner.source"],
    ["runner.model"],
    ["runner.scoring"],
    ["runner.store"],
    ["runner.exports"],
    ["report"],
    ["runner"],
    ["frozen"],
    ["export", "rescore"],
    ["scaffold"],
    ["boundary cli __main__"],
    ["testing"],
    [""],
]
ROOMS = {
    name: (level, room)
    for level, rooms in enumerate(FLOORS)
    for room in rooms
    for name in (room.split() or [room])
}
ROOMS.update({name: (0, "low") for name in LOW.split()})


def room(module: str) -> tuple[int, str]:
    """The (floor, room) of a module: its longest prefix below ``inpaintbench`` that names a room."""
    parts = module.removesuffix(".__init__").split(".")[1:]
    for end in range(len(parts), -1, -1):
        if ".".join(parts[:end]) in ROOMS:
            return ROOMS[".".join(parts[:end])]
    raise AssertionError(f"{module} is on no floor: add it to FLOORS")


def floor(module: str) -> int:
    return room(module)[0]


def upward(importer: str, imported: str) -> bool:
    """Whether ``importer`` reaches up (or across, to another room of its floor) to ``imported``."""
    (low, here), (high, there) = room(importer), room(imported)
    return high > low or (high == low and here != there)


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


MODULES = sorted(PACKAGE.rglob("*.py"))


def graph() -> dict[str, set[str]]:
    """Each module and the modules it imports at run time, names resolved to the files they are in."""
    names = {module_of(p).removesuffix(".__init__"): p for p in MODULES}

    def file_of(name: str) -> str:
        while name not in names:
            name = name.rpartition(".")[0]
        return name

    return {
        module.removesuffix(".__init__"): {file_of(n) for n in imports(path.read_text(), module)} - {module}
        for path in MODULES
        for module in [module_of(path)]
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_import_from_a_floor_above(path):
    module = module_of(path)
    above = [name for name in imports(path.read_text(), module) if upward(module, name)]
    assert not above, f"{path.relative_to(PACKAGE)} imports {above}"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while (top := stack.pop()) != node:
                component.append(top)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_circle_of_imports():
    assert cycles(graph()) == []


def test_the_circle_check_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_check_sees_an_upward_import():
    source = """
from typing import TYPE_CHECKING
from ..runner.store.pngs import PngWriter
from ..errors import InpaintbenchError
from ..datasets.folder import FolderDataset
if TYPE_CHECKING:
    from ..runner.store.results import Row
def later():
    from inpaintbench.report import render
    import inpaintbench.cli
"""
    found = imports(source, "inpaintbench.masks.fake")
    assert found == [
        "inpaintbench.runner.store.pngs",
        "inpaintbench.errors",
        "inpaintbench.datasets.folder",
        "inpaintbench.report",
        "inpaintbench.cli",
    ]
    assert [name for name in found if upward("inpaintbench.masks.fake", name)] == [
        "inpaintbench.runner.store.pngs",
        "inpaintbench.datasets.folder",
        "inpaintbench.report",
        "inpaintbench.cli",
    ]
