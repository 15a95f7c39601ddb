"""The HTML report: its statistics against direct computations, merging runs, refusing mismatched ones."""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from report_runs import (
    FAILED_ERROR,
    FAILED_MODEL,
    MASKS,
    METRIC_ERROR,
    METRIC_INFO,
    NOT_HELD_OUT,
    PARTIAL_IMAGES,
    PARTIAL_MODEL,
    edit_meta,
    real_run,
    write_partial_run,
    write_run,
    write_tables,
)
from scipy import stats

from inpaintbench.cli import main
from inpaintbench.errors import InpaintbenchError
from inpaintbench.files import layout
from inpaintbench.report import render
from inpaintbench.report.runs import Coverage, load_runs
from inpaintbench.report.stats import bootstrap_mean_ci, bucket_label, hole_ratio_bucket, paired_comparison
from inpaintbench.report.tables import breakdowns, choose_reference, leaderboards, paired_tables

MARKUP_MODEL = "<b>x</b>"
MARKUP_IMAGE = "<img src=x onerror=window.__pwned=1>.png"
IMAGES = {
    "astronaut.png": "astronaut",
    MARKUP_IMAGE: "chelsea",
    "sub/coffee.png": "coffee",
    "rocket.png": "rocket",
}
#: How far write_partial_run's PARTIAL_MODEL got in each regime.
SHORT_OF = f"{PARTIAL_IMAGES} of {len(IMAGES)} images"


@pytest.fixture(scope="module")
def run_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("a") / "run", models=("mean_fill", "biharmonic"), images=IMAGES)


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_partial_run(tmp_path_factory.mktemp("partial") / "run", images=IMAGES)


@pytest.fixture(scope="module")
def partial_html(partial_run: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return render([partial_run], tmp_path_factory.mktemp("partial-report")).read_text()


@pytest.fixture(scope="module")
def run_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second run on the same images and masks: a repeated baseline and a model named with markup."""
    return write_run(tmp_path_factory.mktemp("b") / "run", models=("mean_fill", MARKUP_MODEL), images=IMAGES)


# --- statistics ---------------------------------------------------------------------------------------


def test_bootstrap_interval_equals_a_direct_loop() -> None:
    values = np.random.default_rng(1).normal(0.3, 1.0, size=57)
    n_boot = 1500
    # Small max_elements forces many chunks; the draws must still be the one big draw, row by row.
    low, high = bootstrap_mean_ci(values, seed=42, n_boot=n_boot, max_elements=200)
    draws = np.random.default_rng(42).integers(0, len(values), size=(n_boot, len(values)))
    means = [np.mean([values[i] for i in row]) for row in draws]
    assert (low, high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])), abs=1e-12)


def test_bootstrap_interval_agrees_with_scipy() -> None:
    values = np.random.default_rng(2).exponential(2.0, size=200)
    low, high = bootstrap_mean_ci(values, seed=0, n_boot=20000)
    ref = stats.bootstrap(
        (values,), np.mean, n_resamples=20000, method="percentile", random_state=1
    ).confidence_interval
    width = ref.high - ref.low
    assert low == pytest.approx(ref.low, abs=0.03 * width)
    assert high == pytest.approx(ref.high, abs=0.03 * width)


def test_paired_comparison_win_rate_ties_and_infinite_pairs() -> None:
    model = np.array([30.0, 20.0, 25.0, np.inf, np.nan, 10.0])
    reference = np.array([28.0, 21.0, 25.0, 40.0, 22.0, 12.0])
    higher = paired_comparison(model, reference, True, seed=0)
    assert higher.n == 5  # the NaN pair is left out
    assert higher.win_rate == pytest.approx((2 + 0.5) / 5)  # 30>28, inf>40 win; 25=25 ties
    finite = np.array([2.0, -1.0, 0.0, -2.0])  # the infinite difference is left out of the mean
    assert higher.n_finite == 4
    assert higher.mean_diff == pytest.approx(finite.mean())
    assert (higher.ci_low, higher.ci_high) == bootstrap_mean_ci(finite, seed=0)
    lower = paired_comparison(model, reference, False, seed=0)
    assert lower.win_rate == pytest.approx((2 + 0.5) / 5)
    assert paired_comparison(model, reference, None, seed=0).win_rate is None


def test_buckets_are_half_open_at_exact_tenths() -> None:
    tenths = np.arange(10) / 10
    assert hole_ratio_bucket(tenths).tolist() == list(range(10))
    below = np.nextafter(tenths[1:], 0)
    assert hole_ratio_bucket(below).tolist() == list(range(9))
    # Ratios as the runner computes them (hole pixels / all pixels), landing exactly on a boundary.
    ratios = np.array([160 / 1600, 640 / 3200, 4800 / 16000, 3276 / 16384, 1.0, 0.0])
    assert hole_ratio_bucket(ratios).tolist() == [1, 2, 3, 1, 9, 0]
    assert bucket_label(0) == "[0, 10%)"
    assert bucket_label(9) == "[90, 100%]"


# --- tables from run folders ---------------------------------------------------------------------------


def test_leaderboard_matches_summary_and_marks_best(run_a: Path) -> None:
    runset = load_runs([run_a])
    summary = pd.read_csv(run_a / "summary.csv")
    boards = leaderboards(runset)
    assert [b.regime for b in boards] == ["center", "random"]
    for board in boards:
        for row in board.rows:
            for metric, cell in zip(runset.metrics, row.cells, strict=True):
                expected = summary[
                    (summary["model"] == row.model)
                    & (summary["mask"] == board.regime)
                    & (summary["metric"] == metric)
                ].iloc[0]
                assert cell.mean == pytest.approx(expected["mean"])
                assert (cell.low, cell.high, cell.n) == pytest.approx(
                    (expected["ci95_low"], expected["ci95_high"], expected["n"])
                )
        psnr = [row.cells[runset.metrics.index("psnr")] for row in board.rows]
        l1 = [row.cells[runset.metrics.index("l1_hole")] for row in board.rows]
        assert [c.best for c in psnr] == [c.mean == max(x.mean for x in psnr) for c in psnr]
        assert [c.best for c in l1] == [c.mean == min(x.mean for x in l1) for c in l1]
    assert "lpips" not in runset.metrics  # an empty column is listed under "metrics not computed" instead


def test_breakdown_equals_direct_groupby(run_a: Path) -> None:
    runset = load_runs([run_a])
    result = breakdowns(runset, {m: "#000" for m in runset.models})
    assert result.regimes == ["center", "random"]
    frame = pd.read_csv(run_a / "results.csv")
    assert not np.isin(frame["hole_ratio"], np.arange(11) / 10).any()  # so plain flooring is right here
    frame["bucket"] = np.floor(frame["hole_ratio"] * 10).astype(int)
    table = next(t for t in result.tables if t.metric == "ssim")
    present = sorted(frame["bucket"].unique())
    assert [row.label for row in table.rows] == [bucket_label(b) for b in present]
    for bucket, row in zip(present, table.rows, strict=True):
        for model, cell in zip(runset.models, row.cells, strict=True):
            values = frame[(frame["model"] == model) & (frame["bucket"] == bucket)]["ssim"]
            assert cell.mean == pytest.approx(values.mean())
            assert cell.std == pytest.approx(values.std()) if len(values) > 1 else np.isnan(cell.std)
            assert cell.n == len(values)


def test_paired_tables_pair_by_image(run_a: Path) -> None:
    runset = load_runs([run_a])
    assert choose_reference(runset, None) == "mean_fill"
    (center, _random) = paired_tables(runset, "mean_fill")
    frame = pd.read_csv(run_a / "results.csv")
    mine = frame[(frame["model"] == "biharmonic") & (frame["mask"] == "center")].set_index("image")
    ref = frame[(frame["model"] == "mean_fill") & (frame["mask"] == "center")].set_index("image")
    diff = (mine["psnr"] - ref.loc[mine.index, "psnr"]).to_numpy()
    cell = center.rows[0].cells[runset.metrics.index("psnr")]
    assert cell.mean_diff == pytest.approx(diff.mean())
    assert cell.win_rate == pytest.approx((diff > 0).mean())
    with pytest.raises(InpaintbenchError, match="--reference"):
        choose_reference(runset, "nope")


# --- rendering ------------------------------------------------------------------------------------------


class _Links(HTMLParser):
    """Every URL the page would fetch or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action", "data", "poster")]


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.urls + re.findall(r"url\(([^)]*)\)", html)


def test_render_writes_relative_png_assets(run_a: Path, tmp_path: Path) -> None:
    index = render([run_a], tmp_path / "out")
    html = index.read_text()
    urls = _links(html)
    assets = [u for u in urls if u.startswith("assets/")]
    assert assets and all(u.endswith(".png") for u in assets)
    assert all(u.startswith(("assets/", "#", "data:")) for u in urls), urls
    for url in set(assets):
        with Image.open(index.parent / url) as image:
            assert image.format == "PNG"
    assert "image missing" not in html
    assert not list((tmp_path / "out").rglob("*.jp*g"))


def test_self_contained_has_no_external_references(run_a: Path, tmp_path: Path) -> None:
    index = render([run_a], tmp_path / "out", self_contained=True)
    urls = _links(index.read_text())
    assert urls and all(u.startswith(("data:", "#")) for u in urls), [u[:40] for u in urls]
    assert any(u.startswith("data:image/png;base64,") for u in urls)
    assert not (tmp_path / "out" / "assets").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [layout.REPORT_RECORD, "index.html"]


def test_markup_in_names_is_escaped(run_b: Path, tmp_path: Path) -> None:
    html = render([run_b], tmp_path / "out").read_text()
    assert MARKUP_MODEL not in html and "<img src=x" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;img src=x onerror=window.__pwned=1&gt;.png" in html
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    assert "</" not in data and "\\u003cb\\u003ex\\u003c/b\\u003e" in data
    assert json.loads(data)["models"] == ["mean_fill", MARKUP_MODEL]


def test_multi_run_merge(run_a: Path, run_b: Path, tmp_path: Path) -> None:
    runset = load_runs([run_a, run_b])
    assert runset.models == ["mean_fill", "biharmonic", MARKUP_MODEL]
    assert runset.model_run(MARKUP_MODEL).path == run_b
    assert runset.model_run("mean_fill").path == run_a
    assert len(runset.notes) == 1 and "mean_fill" in runset.notes[0]
    assert len(runset.results) == 3 * 2 * len(IMAGES)  # the repeated baseline counts once
    (center, _random) = paired_tables(runset, "mean_fill")
    assert [row.model for row in center.rows] == ["biharmonic", MARKUP_MODEL]
    html = render([run_a, run_b], tmp_path / "out", reference="biharmonic").read_text()
    assert "image missing" not in html
    assert (
        json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))["reference"]
        == "biharmonic"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [({"fingerprint": "beef"}, "dataset fingerprint"), ({"seed": 1}, "seed"), ({"size": 40}, "image size")],
)
def test_mismatched_runs_are_refused(run_a: Path, tmp_path: Path, change: dict, message: str) -> None:
    other = write_run(tmp_path / "other", models=("mean_fill",), images={"rocket.png": "rocket"}, **change)
    with pytest.raises(InpaintbenchError, match=f"{re.escape(str(other))}: {message}"):
        render([run_a, other], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_run_where_every_model_failed(tmp_path: Path) -> None:
    columns = ["model", "mask", "image", "hole_ratio", *METRIC_INFO, "checkpoint"]
    run = tmp_path / "run"
    models, regimes = ("broken<i>",), ("center",)
    write_tables(
        run,
        pd.DataFrame(columns=columns),
        models=models,
        regimes=regimes,
        size=48,
        seed=0,
        fingerprint="f",
        n_images=3,
    )
    with edit_meta(run) as meta:
        meta["failures"] = [{"model": "broken<i>", "stage": "prepare", "mask": None, "error": "CUDA <oom>"}]
    html = render([run], tmp_path / "out").read_text()
    assert "No model produced results" in html
    assert "<td>broken&lt;i&gt;</td><td>prepare</td>" in html and "CUDA &lt;oom&gt;" in html


# --- partial, failed and not-held-out models ---------------------------------------------------------


def _section(html: str, section_id: str) -> str:
    return re.search(rf'<section id="{section_id}">(.*?)</section>', html, re.S).group(1)


def _text(fragment: str) -> str:
    """What a reader sees: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _rows(fragment: str) -> list[tuple[str, str]]:
    """(class, visible text) of each table row that has a class, in page order."""
    return [(cls, _text(row)) for cls, row in re.findall(r'<tr class="([^"]*)">(.*?)</tr>', fragment, re.S)]


def test_status_per_model_from_rows_against_n_images(partial_run: Path, run_a: Path) -> None:
    runset = load_runs([partial_run])
    assert list(runset.status) == ["mean_fill", "biharmonic", PARTIAL_MODEL, FAILED_MODEL]
    assert [s.status for s in runset.status.values()] == ["complete", "complete", "partial", "failed"]
    assert runset.status[PARTIAL_MODEL].regimes == {r: Coverage(PARTIAL_IMAGES, len(IMAGES)) for r in MASKS}
    assert [f["error"] for f in runset.status[FAILED_MODEL].failures] == [FAILED_ERROR]
    assert [m for m, s in runset.status.items() if not s.held_out] == [NOT_HELD_OUT]
    # Merged: the baselines' rows, and so their held_out, come from run_a, which says nothing of it.
    merged = load_runs([run_a, partial_run])
    assert merged.model_run(NOT_HELD_OUT).path == run_a and merged.status[NOT_HELD_OUT].held_out
    assert merged.status[PARTIAL_MODEL].status == "partial" and merged.status[FAILED_MODEL].status == "failed"


def test_partial_model_is_ranked_last_and_never_starred(partial_run: Path, partial_html: str) -> None:
    runset = load_runs([partial_run])
    for board in leaderboards(runset):
        assert [row.model for row in board.rows] == ["mean_fill", "biharmonic", PARTIAL_MODEL]
        *complete, partial = board.rows
        for column, metric in enumerate(runset.metrics):
            sign = 1 if runset.higher_is_better(metric) else -1
            best = max(sign * row.cells[column].mean for row in complete)
            assert sign * partial.cells[column].mean > best  # the better mean, over fewer images
            assert not partial.cells[column].best
            assert [row.cells[column].best for row in complete] == [
                sign * row.cells[column].mean == best for row in complete
            ]
    leaderboard = _section(partial_html, "leaderboard")
    board = re.search(r'<table class="sortable leaderboard">.*?</table>', leaderboard, re.S)
    rows = _rows(board.group(0))
    assert [cls for cls, _ in rows] == ["complete", "complete", "partial"]
    label = f"partial ({SHORT_OF})"
    assert rows[2][1].startswith(f"{PARTIAL_MODEL} {label} ") and "★" not in rows[2][1]
    assert sum(text.count("★") for _, text in rows[:2]) == len(runset.metrics)
    assert re.findall(r'<span class="status partial"[^>]*>(.*?)</span>', board.group(0)) == [label]


def test_partial_model_is_never_the_reference(
    partial_run: Path, partial_html: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runset = load_runs([partial_run])
    assert choose_reference(runset, None) == "mean_fill"
    partial_baseline = {"center": Coverage(3, len(IMAGES)), "random": Coverage(len(IMAGES), len(IMAGES))}
    runset.status["mean_fill"].regimes = partial_baseline  # partial in one regime is partial
    assert choose_reference(runset, None) == "biharmonic"
    for status in runset.status.values():
        status.regimes = partial_baseline
    assert choose_reference(runset, None) is None

    runset = load_runs([partial_run])
    expected = (
        f"--reference: model '{PARTIAL_MODEL}' is partial (center: {SHORT_OF}, random: {SHORT_OF}); "
        "complete models: mean_fill, biharmonic"
    )
    with pytest.raises(InpaintbenchError) as refused:
        choose_reference(runset, PARTIAL_MODEL)
    assert str(refused.value) == expected
    out = tmp_path / "out"
    assert main(["report", str(partial_run), "-o", str(out), "--reference", PARTIAL_MODEL]) == 2
    assert capsys.readouterr().err == f"error: {expected}\n" and not out.exists()

    data = json.loads(re.search(r'id="report-data">(.*?)</script>', partial_html, re.S).group(1))
    assert data["reference"] == "mean_fill" and data["status"][PARTIAL_MODEL] == "partial"
    paired = _rows(_section(partial_html, "paired"))
    assert [(cls, text.split()[0]) for cls, text in paired] == [
        ("complete", "biharmonic"),
        ("partial", PARTIAL_MODEL),
    ] * len(MASKS)
    assert f"partial ({SHORT_OF})" in paired[1][1]


def test_every_requested_model_is_listed_at_the_top(partial_html: str) -> None:
    lede = _text(re.search(r'<p class="lede">(.*?)</p>', partial_html, re.S).group(1))
    assert lede.startswith("4 models requested (2 complete, 1 partial, 1 failed) on samples")
    assert lede.endswith("1 metric failure: ssim")
    assert partial_html.index('<section id="models">') < partial_html.index('<section id="leaderboard">')
    rows = _rows(_section(partial_html, "models"))
    assert [cls for cls, _ in rows] == ["complete", "complete", "partial", "failed"]
    assert [text for _, text in rows] == [
        "mean_fill complete mean_fill stand-in test-plugin",
        f"{NOT_HELD_OUT} not held-out complete {NOT_HELD_OUT} stand-in test-plugin",
        f"{PARTIAL_MODEL} partial center: {SHORT_OF}, random: {SHORT_OF} "
        "inpaint, center: CUDA out of memory inpaint, random: CUDA out of memory "
        f"{PARTIAL_MODEL} stand-in test-plugin",
        f"{FAILED_MODEL} failed prepare: {FAILED_ERROR} {FAILED_MODEL} stand-in test-plugin",
    ]
    assert "FileNotFoundError: &lt;weights&gt;.pth" in partial_html  # escaped like every other name
    masks = _text(_section(partial_html, "masks"))
    assert "center the center test masks (plugin test-plugin)" in masks


def test_not_held_out_model_is_labelled_where_named(partial_html: str) -> None:
    for section in ("models", "leaderboard", "paired"):
        rows = _rows(_section(partial_html, section))
        named = [text for _, text in rows if text.split()[0] == NOT_HELD_OUT]
        assert named and all(text.startswith(f"{NOT_HELD_OUT} not held-out") for text in named), section
    rows = _rows(_section(partial_html, "leaderboard"))
    others = [text for _, text in rows if text.split()[0] != NOT_HELD_OUT]
    assert others and not any("not held-out" in text for text in others)


def test_metric_failures_are_listed_with_the_metric(partial_html: str) -> None:
    issues = _section(partial_html, "issues")
    table = re.search(r"<h3>Metric failures</h3>\s*<table.*?</table>", issues, re.S).group(0)
    header, row = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert _text(header) == "metric model mask error"
    assert _text(row) == f"ssim biharmonic random {METRIC_ERROR}"


def test_run_without_images(run_a: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_a, run, ignore=shutil.ignore_patterns("images"))
    out = tmp_path / "out"
    html = render([run], out).read_text()
    assert "No images were saved with this run" in html and "image missing" not in html
    assert "<svg" in html and not (out / "assets").exists()


def test_rerendering_prunes_the_assets_it_wrote_and_no_longer_shows(
    run_a: Path, run_b: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    render([run_b], out)
    first = {p.name for p in (out / "assets").iterdir()}
    mine = out / "assets" / ("0" * 20 + ".png")  # a report's kind of name, but not written by one
    mine.write_bytes(b"user")
    html = render([run_a], out).read_text()
    shown = set(re.findall(r"assets/([0-9a-f]{20}\.png)", html))
    assert first - shown and {p.name for p in (out / "assets").iterdir()} == shown | {mine.name}
    render([run_a], out, self_contained=True)
    assert [p.name for p in (out / "assets").iterdir()] == [mine.name]


def test_not_a_run_folder(tmp_path: Path) -> None:
    with pytest.raises(InpaintbenchError, match="run.json: missing"):
        render([tmp_path], tmp_path / "out")


@pytest.mark.slow
def test_report_from_a_real_run(tmp_path: Path) -> None:
    run_dir = real_run(tmp_path / "run")
    index = render([run_dir], tmp_path / "report")
    html = index.read_text()
    runset = load_runs([run_dir])
    assert runset.models == ["mean_fill", "biharmonic"] and runset.regimes == ["center", "random"]
    summary = pd.read_csv(run_dir / "summary.csv").set_index(["model", "mask", "metric"])
    for board in leaderboards(runset):
        for row in board.rows:
            assert row.n == 6
            for metric, cell in zip(runset.metrics, row.cells, strict=True):
                assert cell.mean == pytest.approx(summary.loc[(row.model, board.regime, metric), "mean"])
    assert html.count('<img class="truth"') == 2 * 6  # six images per regime in the grid
    assert "image missing" not in html
