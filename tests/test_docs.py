"""The README stays short, mkdocs' nav names only pages that exist, and every stored result the measured
figures cite is in the repository."""

from __future__ import annotations

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
