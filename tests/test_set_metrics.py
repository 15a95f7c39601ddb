"""Set-level metrics (fid, kid): weights lookup, the values against torch-fidelity, and the run's plumbing.

No real Inception weights are on this machine, so every number here comes from a RANDOM-WEIGHT Inception
(torch-fidelity's architecture, randomly initialised, saved to a temporary file): PLUMBING ONLY, never FID
or KID values. Its sha256 is not the published one, so fid and kid accept it only under the test switch
INPAINTBENCH_ALLOW_UNVERIFIED_WEIGHTS=1, and every output then says "unverified weights: not the real FID".
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import cli_env, cli_in_process, kill_part_way
from PIL import Image
from report_runs import PHOTOS, edit_meta, photo, write_run
from skimage.filters import gaussian

from inpaintbench import MetricUnavailable, Model, SetMetric
from inpaintbench.files import layout
from inpaintbench.metrics import inception
from inpaintbench.metrics.fid import FID, KID
from inpaintbench.metrics.perceptual import LPIPS
from inpaintbench.metrics.weights import ALLOW_UNVERIFIED_ENV
from inpaintbench.plugins import build_registry, contract_problem
from inpaintbench.report import fmt
from inpaintbench.report.runs import load_runs
from inpaintbench.report.tables import breakdowns, leaderboards, paired_tables
from inpaintbench.runner.model.outputs import InvalidScores, validate_features, validate_set_value
from inpaintbench.runner.run import RunConfig, Runner
from inpaintbench.runner.store.results import ResultStore, Row
from inpaintbench.summary import format_table, summarize

UNVERIFIED = "unverified weights: not the real FID"


@pytest.fixture(scope="session")
def random_inception(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PLUMBING ONLY: torch-fidelity's Inception-v3 with random weights (He-normal convolutions, so the
    pool3 features neither vanish nor explode), saved as a state dict. Not the published file."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as patch:  # build the architecture without fetching any weights
        patch.setattr(fe, "load_state_dict_from_url", lambda *args, **kwargs: None)
        patch.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        network = fe.FeatureExtractorInceptionV3(inception.EXTRACTOR, [inception.POOL3])
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(network.state_dict(), path)
    return path


@pytest.fixture
def unverified(random_inception: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The test-only route to the random-weight Inception, in this process and for a CLI subprocess."""
    env = {inception.ENV_VAR: str(random_inception), ALLOW_UNVERIFIED_ENV: "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()


def ready(cls: type[SetMetric]) -> SetMetric:
    metric = cls()
    metric.setup(torch.device("cpu"))
    return metric


# --- registration, listing, weights ------------------------------------------------------------------


def test_fid_and_kid_register_as_set_level_metrics():
    registry = build_registry()
    for name in ("fid", "kid"):
        cls = registry.components["metric"][name]
        assert issubclass(cls, SetMetric) and contract_problem("metric", cls) is None
        assert cls.higher_is_better is False and "lower is better" in cls.description


def test_listing_metrics_shows_fid_and_kid_without_importing_torch():
    code = (
        "import sys; from inpaintbench.cli import main\n"
        "main(['list', 'metrics'])\n"
        "assert 'torch' not in sys.modules and 'torch_fidelity' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"fid", "kid"} <= listed


def test_the_weights_are_torch_fidelitys_published_file():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    assert inception.WEIGHTS.url == URL_INCEPTION_V3
    assert URL_INCEPTION_V3.endswith("/" + inception.WEIGHTS.filename)
    assert inception.WEIGHTS.sha256.startswith(inception.WEIGHTS.filename.rsplit("-", 1)[1].split(".")[0])


@pytest.fixture
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(inception.ENV_VAR, raising=False)
    monkeypatch.delenv(ALLOW_UNVERIFIED_ENV, raising=False)
    return tmp_path


@pytest.mark.parametrize("cls", [FID, KID], ids=["fid", "kid"])
def test_without_weights_the_metric_is_unavailable_with_one_line(no_weights: Path, cls: type[SetMetric]):
    with pytest.raises(MetricUnavailable) as info:
        cls().setup(torch.device("cpu"))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{cls.name} needs torch-fidelity's Inception-v3")
    assert f"not found at {no_weights / 'hub' / 'checkpoints' / inception.WEIGHTS.filename}" in message
    assert inception.WEIGHTS.url in message and inception.ENV_VAR in message


def test_another_file_is_refused_unless_the_test_switch_is_set(
    random_inception: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(inception.ENV_VAR, str(random_inception))
    monkeypatch.delenv(ALLOW_UNVERIFIED_ENV, raising=False)
    with pytest.raises(MetricUnavailable, match=r"has sha256 .*expected 6726825d0af5f729"):
        FID().setup(torch.device("cpu"))
    monkeypatch.setenv(ALLOW_UNVERIFIED_ENV, "1")
    metric = ready(FID)
    assert metric.found is not None and metric.found.verified is False
    assert metric.conventions()["weights"]["verified"] is False
    [line] = metric.caveats(5000)
    assert line.startswith(UNVERIFIED)
    assert any("not the real KID" in line for line in ready(KID).caveats(5000))
    assert metric.feature_key() == ready(KID).feature_key()  # one extraction serves both


def test_lpips_ignores_the_test_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The switch is honoured only by metrics that label their values; LPIPS does not."""
    bad = tmp_path / "alexnet.pth"
    bad.write_bytes(b"not the AlexNet weights")
    monkeypatch.setenv("INPAINTBENCH_LPIPS_BACKBONE", str(bad))
    monkeypatch.setenv(ALLOW_UNVERIFIED_ENV, "1")
    with pytest.raises(MetricUnavailable, match="has sha256"):
        LPIPS().setup(torch.device("cpu"))


def test_fid_warns_below_2048_images():
    metric = FID()  # no weights needed for the warning
    assert metric.caveats(2048) == []
    [line] = metric.caveats(2047)
    assert "n = 2047 < 2,048 images: FID is strongly biased" in line
    assert KID().caveats(10) == []


# --- the values against torch-fidelity ---------------------------------------------------------------


def photos(size: int = 64) -> np.ndarray:
    return np.stack([photo(name, size) for name in PHOTOS])


def degraded(images: np.ndarray) -> np.ndarray:
    blurred = np.stack([gaussian(x, sigma=1.5, channel_axis=-1) for x in images])
    noise = np.random.default_rng(0).normal(0, 0.03, images.shape)
    return np.clip(blurred + noise, 0, 1).astype(np.float32)


class Uint8Images(torch.utils.data.Dataset):
    """The images as torch-fidelity takes them: uint8 3 x H x W, rounded as the runner rounds them."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = (to_tensor(images) * 255).round().clamp(0, 255).to(torch.uint8)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


@pytest.mark.slow
def test_fid_and_kid_equal_torch_fidelity_on_the_same_images(unverified: dict[str, str], random_inception):
    """PLUMBING ONLY (random-weight Inception): FID of a set against itself is ~0, against a degraded copy
    clearly positive, and both values (features extracted here in batches of 3) equal torch-fidelity's
    own calculate_metrics on the same images to 1e-6."""
    import torch_fidelity

    real, fake = photos(), degraded(photos())
    fid, kid = ready(FID), ready(KID)

    def features(images: np.ndarray) -> np.ndarray:
        chunks = [
            validate_features(fid.features(to_tensor(images[i : i + 3])), len(images[i : i + 3]))
            for i in range(0, len(images), 3)
        ]
        return np.concatenate(chunks)

    f_real, f_fake = features(real), features(fake)
    assert f_real.shape == (len(PHOTOS), 2048)
    value = fid.compute_set(f_fake, f_real)
    assert value > 0.1 and abs(fid.compute_set(f_real, f_real)) < 1e-3 * value
    reference = torch_fidelity.calculate_metrics(
        input1=Uint8Images(fake),
        input2=Uint8Images(real),
        cuda=False,
        fid=True,
        kid=True,
        kid_subset_size=len(real),
        feature_extractor_weights_path=str(random_inception),
        cache=False,
        save_cpu_ram=True,
        verbose=False,
    )
    assert value == pytest.approx(reference["frechet_inception_distance"], rel=1e-6)
    assert kid.compute_set(f_fake, f_real) == pytest.approx(
        reference["kernel_inception_distance_mean"], rel=1e-6
    )


def test_below_two_images_the_values_are_nan():
    one = np.ones((1, 2048), np.float32)
    assert math.isnan(FID().compute_set(one, one)) and math.isnan(KID().compute_set(one, one))


# --- what the runner checks and stores ---------------------------------------------------------------


def test_features_and_values_are_validated():
    assert validate_features(torch.ones(3, 5, dtype=torch.float64), 3).dtype == np.float32
    for bad, match in [
        (np.ones((3, 5)), "expected a torch.Tensor"),
        (torch.ones(3), r"shape \(3,\)"),
        (torch.ones(2, 5), r"shape \(2, 5\)"),
        (torch.full((3, 5), math.nan), "NaN"),
    ]:
        with pytest.raises(InvalidScores, match=match):
            validate_features(bad, 3)
    assert validate_set_value(np.float32(1.5)) == 1.5 and math.isnan(validate_set_value(math.nan))
    for bad in (torch.tensor(1.0), np.ones(1), True, "1"):
        with pytest.raises(InvalidScores):
            validate_set_value(bad)


def test_store_pairs_features_by_image_in_id_order(tmp_path: Path):
    store = ResultStore(tmp_path / "results.sqlite", [])
    vectors = {image: np.full(4, i, np.float32) for i, image in enumerate(["c", "a", "b"])}
    store.add_real_features("k", ["c", "a", "b"], np.stack(list(vectors.values())))
    rows = [Row("m", "center", image, 0.25, "", {}, {"k": vectors[image] + 10}) for image in ("b", "c")]
    store.add(rows)
    images, pred, real = store.paired_features("m", "center", "k")
    assert images == ["b", "c"] and pred.dtype == real.dtype == np.float32
    np.testing.assert_array_equal(real, np.stack([vectors["b"], vectors["c"]]))
    np.testing.assert_array_equal(pred, real + 10)
    assert store.paired_features("m", "center", "other key")[0] == []
    store.set_set_value("m", "center", "fid", math.nan, 1)
    assert math.isnan(store.set_values(["fid"])["fid"][("m", "center")][0])
    store.close()


def test_summary_rows_and_table_cells_of_a_set_metric():
    results = pd.DataFrame(
        {
            "model": ["m"] * 3 + ["p"],
            "mask": ["center"] * 4,
            "image": list("abca"),
            "psnr": [20.0, 21, 22, 30],
        }
    )
    values = {"fid": {("m", "center"): (12.5, 3), ("p", "center"): (math.nan, 1)}}
    summary = summarize(results, ["psnr", "fid"], {("p", "center"): "partial"}, None, values)
    fid = summary[summary["metric"] == "fid"].set_index("model")
    assert fid.loc["m", "mean"] == 12.5 and fid.loc["m", "n"] == 3 and fid.loc["p", "status"] == "partial"
    assert fid[["std", "ci95_low", "ci95_high"]].isna().all().all()
    table = format_table(summary, ["psnr", "fid"], footer=["fid: one value"]).splitlines()
    m_row, p_row = table[2].split(), table[3].split()
    assert m_row[:5] == ["m", "center", "21.0000", "±2.4841", "12.5000"] and p_row[3] == "-"
    assert table[-1] == "fid: one value"


# --- a whole run -------------------------------------------------------------------------------------


class FailsOnSecondBatch(Model):
    """Mid grey for its first batch, NaN afterwards: partial, with a set value over its first rows."""

    name = "fails_late"
    description = "mid grey, then NaN"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.batches = 0

    def inpaint(self, batch):
        self.batches += 1
        return batch.images * 0 + (0.5 if self.batches == 1 else math.nan)


@pytest.fixture(scope="module")
def set_run(tmp_path_factory: pytest.TempPathFactory, random_inception: Path):
    """One in-process run: mean_fill complete, fails_late partial (2 of 4 images), psnr, fid and kid with the
    random-weight Inception (PLUMBING ONLY)."""
    out = tmp_path_factory.mktemp("set_run")
    registry = build_registry()
    registry.components["model"][FailsOnSecondBatch.name] = FailsOnSecondBatch
    config = RunConfig(
        models=["mean_fill", "fails_late"],
        masks=["center"],
        metrics=["psnr", "fid", "kid"],
        limit=4,
        batch_size=2,
    )
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(inception.ENV_VAR, str(random_inception))
        patch.setenv(ALLOW_UNVERIFIED_ENV, "1")
        outcome = Runner(config, out, ["run"], progress=False, registry=registry, log=lines.append).execute()
    return out, outcome, lines


@pytest.mark.slow
def test_set_values_land_in_summary_run_json_and_the_table(set_run):
    out, outcome, _ = set_run
    summary = pd.read_csv(out / layout.SUMMARY_CSV).set_index(["model", "metric"])
    run = json.loads((out / layout.RUN_JSON).read_text())
    for name in ("fid", "kid"):
        section = run["set_metrics"][name]
        by_model = {v["model"]: v for v in section["values"]}
        for model, n, status in (("mean_fill", 4, "complete"), ("fails_late", 2, "partial")):
            row = summary.loc[(model, name)]
            assert row["n"] == n and row["status"] == status and np.isfinite(row["mean"])
            assert row[["std", "ci95_low", "ci95_high"]].isna().all()
            assert (
                by_model[model]["value"] == pytest.approx(row["mean"], rel=1e-12)
                and by_model[model]["n"] == n
            )
        assert section["conventions"]["weights"]["verified"] is False
        assert "torch-fidelity" in section["conventions"]["library"]
    assert any(line.startswith(UNVERIFIED) for line in run["set_metrics"]["fid"]["warnings"])
    assert (
        "n = 4 < 2,048 images: FID is strongly biased at this size; compare equal n only"
        in (run["set_metrics"]["fid"]["warnings"])
    )
    assert run["models"]["fails_late"]["status"] == "partial"
    assert list(pd.read_csv(out / layout.RESULTS_CSV).columns) == [
        "model",
        "mask",
        "image",
        "source",
        "hole_ratio",
        "psnr",
        "checkpoint",
    ]

    table = outcome.summary_table.splitlines()
    assert table[0].split()[:6] == ["model", "mask", "psnr", "fid", "kid", "n"]
    mean_fill = [cell for cell in table[2].split() if not cell.startswith("±")]  # psnr's ± when it has one
    assert mean_fill[0] == "mean_fill" and mean_fill[3] == f"{summary.loc[('mean_fill', 'fid'), 'mean']:.4f}"
    assert "±" not in " ".join(mean_fill[4:6]) and "partial: 2 of 4 images" in table[3]
    assert any(line.startswith(f"warning: fid: {UNVERIFIED}") for line in table)
    assert any(line.startswith("warning: kid: unverified weights: not the real KID") for line in table)
    assert any("2,048" in line for line in table)


@pytest.mark.slow
def test_stored_features_are_those_of_the_saved_pngs_and_give_the_library_fid(set_run, unverified):
    """The features are of the uint8-rounded composite (the PNG the run saved), and the stored value is
    torch-fidelity's FID of the stored features (random-weight Inception: PLUMBING ONLY)."""
    out, _, _ = set_run
    fid = ready(FID)
    store = ResultStore(out / layout.RESULTS_DB, [])
    images, pred, real = store.paired_features("mean_fill", "center", fid.feature_key())
    assert len(images) == 4 and store.real_done(fid.feature_key()) == set(images)
    pngs = np.stack(
        [
            np.asarray(Image.open(layout.prediction_png(out, "mean_fill", "center", i)), np.float32) / 255
            for i in images
        ]
    )
    np.testing.assert_allclose(fid.features(to_tensor(pngs)).numpy(), pred, rtol=1e-5, atol=1e-6)
    [stored] = [
        v
        for v in json.loads((out / layout.RUN_JSON).read_text())["set_metrics"]["fid"]["values"]
        if v["model"] == "mean_fill"
    ]
    assert stored["value"] == pytest.approx(fid.compute_set(pred, real), rel=1e-9)
    store.close()


def test_report_shows_set_metrics_in_the_leaderboard_only(set_run):
    out, _, _ = set_run
    html = (out / layout.INDEX_HTML).read_text()
    board = html[html.index('id="leaderboard"') : html.index('id="breakdown"')]
    summary = pd.read_csv(out / layout.SUMMARY_CSV).set_index(["model", "metric"])
    value = summary.loc[("mean_fill", "fid"), "mean"]
    assert f'data-v="{float(value)!r}"' in board and fmt.number(value) in board
    assert UNVERIFIED in board and "2,048" in board
    assert ">fid <" in board and ">kid <" in board
    rest = html[html.index('id="breakdown"') : html.index('id="grid"')]
    assert ">fid " not in rest and ">kid " not in rest


def test_report_marks_the_best_set_value_by_direction_and_pairs_only_per_image_metrics(tmp_path: Path):
    run_dir = write_run(tmp_path / "run", models=("mean_fill", "biharmonic"), regimes=("center",))
    summary = pd.read_csv(run_dir / layout.SUMMARY_CSV)
    extra = summary[summary["metric"] == "psnr"].assign(
        metric="fid", std=np.nan, ci95_low=np.nan, ci95_high=np.nan
    )
    extra["mean"] = [30.0, 20.0]  # mean_fill, biharmonic: lower is better, so biharmonic is best
    pd.concat([summary, extra]).to_csv(run_dir / layout.SUMMARY_CSV, index=False)
    with edit_meta(run_dir) as meta:
        meta["config"]["metrics"].append("fid")
        meta["metric_info"]["fid"] = {"higher_is_better": False, "description": "FID"}
        meta["set_metrics"] = {"fid": {"warnings": ["n = 6 < 2,048 images"]}}
    runset = load_runs([run_dir])
    assert "fid" in runset.metrics and "fid" not in runset.image_metrics and "fid" not in runset.results
    [board] = leaderboards(runset)
    column = runset.metrics.index("fid")
    cells = {row.model: row.cells[column] for row in board.rows}
    assert cells["biharmonic"].best and not cells["mean_fill"].best and math.isnan(cells["mean_fill"].low)
    assert all(
        table.metric != "fid"
        for table in breakdowns(runset, {"mean_fill": "#000", "biharmonic": "#111"}).tables
    )
    assert all(
        len(row.cells) == len(runset.image_metrics)
        for t in paired_tables(runset, "mean_fill")
        for row in t.rows
    )
    assert runset.set_metrics == {"fid": ["n = 6 < 2,048 images"]}


def test_without_weights_the_run_goes_on_and_lists_fid_as_not_computed(tmp_path: Path):
    result = cli_in_process(
        "run",
        "--model",
        "toy_grey",
        "--masks",
        "center",
        "--metrics",
        "psnr,fid,kid",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "run"),
        "--no-progress",
        "--no-references",
        TORCH_HOME=str(tmp_path / "empty-torch-home"),
        **{inception.ENV_VAR: "", ALLOW_UNVERIFIED_ENV: ""},
    )
    assert result.returncode == 0, result.stderr
    run = json.loads((tmp_path / "run" / layout.RUN_JSON).read_text())
    missing = {m["metric"]: m["reason"] for m in run["metrics_not_computed"]}
    assert set(missing) == {"fid", "kid"} and all(inception.WEIGHTS.filename in r for r in missing.values())
    assert "warning: metric 'fid' not computed: fid needs" in result.stderr
    results = pd.read_csv(tmp_path / "run" / layout.RESULTS_CSV)
    assert results["psnr"].notna().all() and "fid" not in results
    summary = pd.read_csv(tmp_path / "run" / layout.SUMMARY_CSV).set_index("metric")
    assert summary.loc["fid", "n"] == 0 and np.isnan(summary.loc["fid", "mean"])
    assert run["set_metrics"]["fid"]["values"] == []


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_fid_of_a_clean_run(tmp_path: Path, unverified: dict[str, str]):
    """Features are committed with their rows, so a killed and resumed run extracts features only for
    the rows it adds and ends with the clean run's fid and kid (random-weight Inception: PLUMBING ONLY)."""
    out, clean = tmp_path / "killed", tmp_path / "clean"
    args = ["run", "--model", "toy_slow", "--masks", "center", "--metrics", "psnr,fid,kid", "--limit", "6",
            "--batch-size", "1", "--no-progress", "--no-images", "--no-references"]  # fmt: skip
    kept = kill_part_way(args, out, 2, **unverified)
    assert 2 <= kept < 6, "the run must be killed part-way"

    resumed = cli_in_process("run", "--resume", str(out), "--no-progress", **unverified)
    assert resumed.returncode == 0, resumed.stderr
    assert [s["computed"] for s in json.loads((out / layout.RUN_JSON).read_text())["sessions"]] == [
        kept,
        6 - kept,
    ]
    assert cli_in_process(*args, "--out", str(clean), **unverified).returncode == 0
    a, b = (pd.read_csv(d / layout.SUMMARY_CSV).set_index("metric") for d in (out, clean))
    for name in ("fid", "kid"):
        assert a.loc[name, "n"] == b.loc[name, "n"] == 6
        assert a.loc[name, "mean"] == pytest.approx(b.loc[name, "mean"], rel=1e-9)
    store = ResultStore(out / layout.RESULTS_DB, [])
    key = ready(FID).feature_key()
    assert len(store.paired_features("toy_slow", "center", key)[0]) == 6 and len(store.real_done(key)) == 6
    store.close()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch sees none here")
def test_features_on_cuda_equal_the_cpu_ones(unverified):
    """Random-weight Inception (PLUMBING ONLY): the extractor runs on CUDA in float32 (TF32 off)."""
    images = to_tensor(photos()[:4])
    on_cpu = ready(FID).features(images)
    metric = FID()
    metric.setup(torch.device("cuda"))
    torch.testing.assert_close(metric.features(images.cuda()).cpu(), on_cpu, rtol=1e-3, atol=1e-4)


# --- the plugin kit's check for set-level metrics ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("cls", [FID, KID])
def test_the_kit_passes_fid_and_kid(unverified: dict[str, str], cls: type[SetMetric]):
    """PLUMBING ONLY (random-weight Inception): the contract holds whatever the weights."""
    from inpaintbench.testing import check_set_metric

    check_set_metric(cls(), image_size=48, n=4)


class MeanColour(SetMetric):
    """A tiny honest set metric: distance between the sets' mean colours."""

    name = "mean_colour_gap"
    description = "distance between the mean colours of the two sets"
    higher_is_better = False

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean((2, 3))

    def compute_set(self, pred: np.ndarray, real: np.ndarray) -> float:
        return float(np.linalg.norm(pred.mean(0) - real.mean(0)))


class Backwards(MeanColour):
    name = "backwards_gap"
    higher_is_better = True


class BatchMean(MeanColour):
    name = "batch_mean_gap"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean((2, 3)) - images.mean((0, 2, 3))  # depends on the batch-mates


class Flat(MeanColour):
    name = "flat_gap"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean()


def test_the_kit_names_what_a_broken_set_metric_breaks():
    from inpaintbench.testing import ContractError, check_set_metric

    check_set_metric(MeanColour())
    for cls, clause in ((Backwards, "direction"), (BatchMean, "per-image"), (Flat, "features")):
        with pytest.raises(ContractError) as info:
            check_set_metric(cls())
        assert info.value.clauses == {clause}, (cls.name, str(info.value))
