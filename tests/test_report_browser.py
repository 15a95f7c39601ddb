"""The report in a real headless Chromium (Debian's /usr/bin/chromium; no browser is ever downloaded)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from report_runs import FAILED_ERROR, PARTIAL_IMAGES, real_run, write_partial_run, write_run

from inpaintbench.report import render

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MARKUP_MODEL = "<b>x</b>"
MARKUP_IMAGE = "<img src=x onerror=window.__pwned=1>.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same three-model run rendered with an assets folder and self-contained."""
    root = tmp_path_factory.mktemp("browser")
    images = {
        "astronaut.png": "astronaut",
        MARKUP_IMAGE: "chelsea",
        "coffee.png": "coffee",
        "rocket.png": "rocket",
        "dir/moon.png": "moon",
    }
    run = write_run(root / "run", models=("mean_fill", "biharmonic", MARKUP_MODEL), images=images)
    return {
        "assets": render([run], root / "assets"),
        "inline": render([run], root / "inline", self_contained=True),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def http_root(reports: dict[str, Path]) -> Iterator[str]:
    """A plain static server over the assets report's folder."""
    handler = functools.partial(_QuietHandler, directory=str(reports["assets"].parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _open(browser: Browser, url: str, errors: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def _load_all_images(page: Page) -> None:
    """Wait until every image has loaded or failed (polled from Python: wait_for_function evaluates a
    string in the page, which the report's Content-Security-Policy forbids)."""
    for _ in range(100):
        if page.evaluate("Array.from(document.images).every(i => !i.getAttribute('src') || i.complete)"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("images still loading after 5 s")


@pytest.mark.parametrize("where", ["file-assets", "file-inline", "http"])
def test_page_loads_cleanly_and_every_image_loads(browser, reports, http_root, where: str) -> None:
    url = {
        "file-assets": reports["assets"].as_uri(),
        "file-inline": reports["inline"].as_uri(),
        "http": http_root + "index.html",
    }[where]
    errors: list[str] = []
    page = _open(browser, url, errors)
    _load_all_images(page)
    images = page.locator("main img").evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('src').slice(0, 30), i.naturalWidth])"
    )
    assert len(images) > 40
    assert [src for src, width in images if width == 0] == []
    assert page.locator(".missing").count() == 0
    assert errors == []
    page.close()


def test_sorting_a_column_reorders_the_rows(browser, reports) -> None:
    page = _open(browser, reports["assets"].as_uri(), errors := [])
    table = page.locator("table.leaderboard").first
    psnr_column = 1 + page.evaluate(
        "JSON.parse(document.getElementById('report-data').textContent).metrics"
    ).index("psnr")

    def column(index: int) -> list[str]:
        return table.locator("tbody tr").evaluate_all(
            f"rows => rows.map(r => r.children[{index}].getAttribute('data-v'))"
        )

    models_before = column(0)
    table.locator("thead th button.sort").nth(psnr_column).click()
    ascending = [float(v) for v in column(psnr_column)]
    assert ascending == sorted(ascending)
    table.locator("thead th button.sort").nth(psnr_column).click()
    descending = [float(v) for v in column(psnr_column)]
    assert descending == sorted(ascending, reverse=True)
    assert table.locator("thead th").nth(psnr_column).get_attribute("aria-sort") == "descending"
    table.locator("thead th button.sort").first.click()
    assert column(0) == sorted(models_before)
    assert column(0) != models_before or ascending != descending  # some click really moved rows
    assert errors == []


def test_lightbox_slider_moves_the_clip(browser, reports) -> None:
    page = _open(browser, reports["assets"].as_uri(), errors := [])
    lightbox = page.locator("#lightbox")
    assert lightbox.is_hidden()
    page.locator("table.grid button.zoom").nth(1).click()  # the first model's output in the first row
    assert lightbox.is_visible()
    src = "img => img.src"  # resolved URLs: the script copies them from the grid
    row = page.locator("table.grid tbody tr").first
    assert page.locator("#lb-over").evaluate(src) == row.locator("button.zoom img").nth(1).evaluate(src)
    assert page.locator("#lb-under").evaluate(src) == row.locator("img.truth").evaluate(src)

    def clip() -> str:
        return page.evaluate("getComputedStyle(document.getElementById('lb-over')).clipPath")

    assert clip() == "inset(0px 50% 0px 0px)"
    box = page.locator("#lb-range").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)  # a real click on the track
    value = int(page.locator("#lb-range").input_value())
    assert 10 <= value <= 30
    assert clip() == f"inset(0px {100 - value}% 0px 0px)"
    page.keyboard.press("Escape")
    assert lightbox.is_hidden()
    assert errors == []


def test_markup_in_names_is_plain_text(browser, reports) -> None:
    for report in reports.values():
        page = _open(browser, report.as_uri(), errors := [])
        _load_all_images(page)
        models = page.locator("table.leaderboard").first.locator("th.model").all_inner_texts()
        assert MARKUP_MODEL in [m.strip() for m in models]
        assert page.locator("main b").count() == 0  # no element was made from the name
        ids = page.locator("table.grid th.image-id .name").all_inner_texts()
        assert MARKUP_IMAGE in ids
        assert page.locator("img[src=x]").count() == 0
        assert page.evaluate("window.__pwned") is None
        assert errors == []
        page.close()


def test_print_layout_hides_the_interactive_parts(browser, reports) -> None:
    page = _open(browser, reports["assets"].as_uri(), [])
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).position") == "static"
    assert len(page.pdf()) > 10_000


def test_screenshot(browser, reports, tmp_path: Path) -> None:
    page = _open(browser, reports["assets"].as_uri(), [])
    _load_all_images(page)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.locator("table.grid button.zoom").nth(1).click()
    page.screenshot(path=str(tmp_path / "lightbox.png"))
    with Image.open(shot) as image:
        assert image.width == 1280 and image.height > 3000
        colours = np.unique(np.asarray(image.convert("RGB").resize((64, 64))).reshape(-1, 3), axis=0)
        assert len(colours) > 500  # photos, not a blank page


def test_partial_and_failed_models_show_on_the_first_screen(browser, tmp_path: Path) -> None:
    images = {f"{name}.png": name for name in ("astronaut", "coffee", "rocket")}
    index = render([write_partial_run(tmp_path / "run", images)], tmp_path / "report")
    page = _open(browser, index.as_uri(), errors := [])
    failed = page.locator("#models tr.failed")
    assert failed.is_visible() and FAILED_ERROR in failed.inner_text()
    assert failed.bounding_box()["y"] + failed.bounding_box()["height"] < 900  # no scrolling needed
    last = page.locator("table.leaderboard").first.locator("tbody tr").last
    assert (
        last.locator(".status.partial").inner_text() == f"partial ({PARTIAL_IMAGES} of {len(images)} images)"
    )
    assert last.locator(".status.partial").is_visible() and "★" not in last.inner_text()
    assert errors == []


@pytest.mark.slow
def test_report_of_a_real_run_loads_cleanly(browser, tmp_path: Path) -> None:
    index = render([real_run(tmp_path / "run")], tmp_path / "report")
    page = _open(browser, index.as_uri(), errors := [])
    _load_all_images(page)
    widths = page.locator("main img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 2 * 6 * 4 and min(widths) > 0  # the grid alone: 6 images x (input, 2 models, truth)
    assert errors == []
