"""The README stays short, mkdocs' nav names only pages that exist, every stored result the measured
figures cite is in the repository, and the plugin contract in docs/plugins.md is the code's: the kit's
signatures and every method and attribute a component may define."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"


def nav_pages() -> list[str]:
    """The page files of mkdocs.yml's nav (``- Title: page.md`` lines), read without a YAML parser."""
    text = (ROOT / "mkdocs.yml").read_text()
    nav = text[text.index("\nnav:") :]
    return re.findall(r"^\s+-\s+(?:[^:\n]+:\s+)?(\S+\.md)\s*$", nav, flags=re.M)


def test_readme_is_at_most_300_lines():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 300, len(lines)


def test_every_nav_page_exists():
    pages = nav_pages()
    assert "index.md" in pages and "figures.md" in pages, pages
    missing = [page for page in pages if not (DOCS / page).is_file()]
    assert not missing, missing


def cited_results(path: Path) -> set[str]:
    return set(re.findall(r"benchmarks/results/[\w./-]+?\.json", path.read_text()))


def test_every_result_the_figures_cite_is_stored():
    cited = cited_results(DOCS / "figures.md")
    assert cited, "docs/figures.md names no stored result"
    cited |= cited_results(ROOT / "README.md")
    missing = sorted(path for path in cited if not (ROOT / path).is_file())
    assert not missing, missing


def _documented_signatures(text: str) -> dict[str, ast.arguments]:
    """The kit's functions as docs/plugins.md tables them: name -> parsed parameters."""
    found = {}
    for name, params in re.findall(
        r"^\| `((?:check_\w+|prepare_context|invoke|run_rows))\((.*?)\)` \|", text, re.M
    ):
        found[name] = ast.parse(f"def f({params}): pass").body[0].args
    return found


def test_the_kit_table_states_the_kits_signatures():
    """docs/plugins.md is the one statement of the kit: every function, every parameter, every default."""
    import inpaintbench.testing as kit

    documented = _documented_signatures((ROOT / "docs" / "plugins.md").read_text())
    assert set(documented) == set(kit.__all__) - {"ContractError", "Result"}
    for name, args in documented.items():
        signature = inspect.signature(getattr(kit, name))
        positional = [a.arg for a in args.args]
        keyword = [a.arg for a in args.kwonlyargs]
        defaults = {
            a.arg: ast.literal_eval(d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
        }
        wanted = {
            p.name: p.default
            for p in signature.parameters.values()
            if p.default is not inspect.Parameter.empty
        }
        kinds = {p.name: p.kind for p in signature.parameters.values()}
        assert positional == [n for n, k in kinds.items() if k is inspect.Parameter.POSITIONAL_OR_KEYWORD], (
            name
        )
        assert keyword == [n for n, k in kinds.items() if k is inspect.Parameter.KEYWORD_ONLY], name
        assert (args.kwarg is not None) == (inspect.Parameter.VAR_KEYWORD in kinds.values()), name
        assert defaults == {k: v for k, v in wanted.items() if k in keyword}, name


def test_every_hook_and_extension_point_of_the_base_classes_is_documented():
    """Each method a component may implement, and each class attribute it may set, is in the contract."""
    from inpaintbench.components import KINDS, SetMetric

    text = (ROOT / "docs" / "plugins.md").read_text()
    inherited = {"spec"}
    for base in [*KINDS.values(), SetMetric]:
        for name, member in vars(base).items():
            if name.startswith("_") or name in inherited or name == "kind":
                continue
            if inspect.isfunction(member):
                assert f"{name}(" in text, f"{base.__name__}.{name} is not in docs/plugins.md"
        for name in getattr(base, "__annotations__", {}):
            if name != "kind":
                assert f"`{name}" in text, f"{base.__name__}.{name} is not in docs/plugins.md"
