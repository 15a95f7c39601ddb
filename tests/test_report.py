"""The HTML report: its statistics against direct computations, merging runs, refusing mismatched ones."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from report_runs import METRIC_INFO, real_run, write_run, write_tables
from scipy import stats

from inpaintbench.errors import InpaintbenchError
from inpaintbench.report import render
from inpaintbench.report.runs import load_runs
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


@pytest.fixture(scope="module")
def run_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("a") / "run", models=("mean_fill", "biharmonic"), images=IMAGES)


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
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html"]


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
    meta = json.loads((run / "run.json").read_text())
    meta["failures"] = [{"model": "broken<i>", "stage": "prepare", "mask": None, "error": "CUDA <oom>"}]
    (run / "run.json").write_text(json.dumps(meta))
    html = render([run], tmp_path / "out").read_text()
    assert "No model produced results" in html
    assert "<td>broken&lt;i&gt;</td><td>prepare</td>" in html and "CUDA &lt;oom&gt;" in html


def test_run_without_images(run_a: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(run_a, run, ignore=shutil.ignore_patterns("images"))
    out = tmp_path / "out"
    html = render([run], out).read_text()
    assert "No images were saved with this run" in html and "image missing" not in html
    assert "<svg" in html and not (out / "assets").exists()


def test_rerendering_prunes_stale_assets(run_a: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render([run_a], out)
    stale = out / "assets" / ("0" * 20 + ".png")
    stale.write_bytes(b"old")
    mine = out / "assets" / "notes.png"  # not a name the report gives: left alone
    mine.write_bytes(b"user")
    html = render([run_a], out).read_text()
    assert not stale.exists() and mine.exists()
    assert sorted(p.name for p in (out / "assets").iterdir() if p != mine) == sorted(
        set(re.findall(r"assets/([0-9a-f]{20}\.png)", html))
    )
    render([run_a], out, self_contained=True)
    assert [p.name for p in (out / "assets").iterdir()] == ["notes.png"]


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
