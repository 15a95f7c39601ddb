"""Intervals that respect where images come from: crops of one photo are not independent samples, so
means get cluster-robust intervals over source photos and paired bootstraps resample whole photos."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import cli_in_process

from inpaintbench.files import layout
from inpaintbench.report.stats import bootstrap_mean_ci, paired_comparison
from inpaintbench.summary import mean_ci, t_quantile


def test_one_image_per_source_is_the_t_interval_over_images():
    values = np.random.default_rng(0).normal(10, 2, 40)
    mean, std, low, high, n, unit, n_sources = mean_ci(values, np.arange(40))
    half = t_quantile(0.975, 39) * values.std(ddof=1) / np.sqrt(40)
    assert (unit, n, n_sources) == ("image", 40, 40)
    assert low == pytest.approx(mean - half, rel=1e-12) and high == pytest.approx(mean + half, rel=1e-12)
    assert mean_ci(values)[2:4] == (low, high)  # no sources given: the same


def test_crops_of_few_photos_get_the_cluster_robust_interval():
    """Four photos, ten crops each, the crops of a photo alike: the interval is the CR1 sandwich with
    3 degrees of freedom, much wider than the naive one, and a hand computation agrees."""
    rng = np.random.default_rng(1)
    photo_means = np.array([20.0, 24.0, 27.0, 31.0])
    values = np.concatenate([m + rng.normal(0, 0.3, 10) for m in photo_means])
    sources = np.repeat(["a", "b", "c", "d"], 10)
    mean, _, low, high, n, unit, n_sources = mean_ci(values, sources)
    assert (unit, n, n_sources) == ("source", 40, 4)
    residuals = np.array([(values[sources == s] - mean).sum() for s in "abcd"])
    se = np.sqrt(4 / 3 * (residuals**2).sum()) / 40
    assert high - mean == pytest.approx(t_quantile(0.975, 3) * se, rel=1e-12)
    naive = mean_ci(values)
    assert (high - low) > 5 * (naive[3] - naive[2])
    one_photo = mean_ci(values[:10], sources[:10])
    assert one_photo[5:] == ("source", 1) and np.isnan(one_photo[2])  # one photo: no interval


def test_the_paired_bootstrap_resamples_whole_photos():
    rng = np.random.default_rng(2)
    sources = np.repeat(np.arange(5), 8)
    reference = rng.normal(25, 1, 40)
    model = reference + np.repeat(rng.normal(0.5, 1.5, 5), 8) + rng.normal(0, 0.05, 40)
    by_pair = paired_comparison(model, reference, True, seed=3)
    by_photo = paired_comparison(model, reference, True, seed=3, sources=sources)
    assert by_pair.mean_diff == by_photo.mean_diff and by_photo.n_sources == 5 and by_pair.n_sources == 40
    assert (by_photo.ci_high - by_photo.ci_low) > 2 * (by_pair.ci_high - by_pair.ci_low)
    assert by_photo.win_low <= by_photo.win_rate <= by_photo.win_high
    # a photo's pairs always come together: every resampled mean is a mean of whole photos
    low, high = bootstrap_mean_ci(np.repeat([1.0, 2.0], 20), seed=0, sources=np.repeat([0, 1], 20))
    assert {low, high} <= {1.0, 1.5, 2.0}
    # singletons: exactly the resampling over values
    values = rng.normal(size=30)
    assert bootstrap_mean_ci(values, seed=4, sources=np.arange(30)) == bootstrap_mean_ci(values, seed=4)


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples") / "run"
    args = ["--model", "mean_fill", "--masks", "center", "--metrics", "psnr", "--no-references"]
    result = cli_in_process("run", *args, "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    return out


def test_summary_on_samples_says_how_many_photos_the_crops_came_from(samples_run):
    results = pd.read_csv(samples_run / layout.RESULTS_CSV)
    summary = pd.read_csv(samples_run / layout.SUMMARY_CSV).set_index("metric")
    n_photos = results["source"].nunique()
    assert (
        len(results) > n_photos >= 3 and (results["source"] == results["image"].str.split("/").str[0]).all()
    )
    row = summary.loc["psnr"]
    assert (row["unit"], row["n_sources"], row["n"]) == ("source", n_photos, len(results))
    expected = mean_ci(results["psnr"].to_numpy(), results["source"].to_numpy())
    assert (row["ci95_low"], row["ci95_high"]) == pytest.approx(expected[2:4], rel=1e-12)


def test_the_report_rebuilds_the_summary_from_the_rows(samples_run, tmp_path):
    """A truncated summary.csv cannot change the leaderboard: its numbers come from results.csv."""
    summary = samples_run / layout.SUMMARY_CSV
    saved = summary.read_text()
    try:
        summary.write_text(saved.splitlines()[0] + "\n")  # header only: every row gone
        assert cli_in_process("report", str(samples_run), "-o", str(tmp_path / "r")).returncode == 0
    finally:
        summary.write_text(saved)
    html = (tmp_path / "r" / "index.html").read_text()
    data = json.loads(
        re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)[1]
    )
    [row] = [r for r in data["summary"] if r["model"] == "mean_fill" and r["metric"] == "psnr"]
    stored = pd.read_csv(summary).set_index("metric").loc["psnr"]
    assert row["n"] == stored["n"] and row["mean"] == pytest.approx(stored["mean"], rel=1e-12)
    assert "cut from" in html and "source photos" in html
