"""The built-in metrics against their reference implementations on real photos (scikit-image's)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from functools import cache

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import color, data, filters, transform
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inpaintbench.cache import sha256_file
from inpaintbench.components import MetricUnavailable
from inpaintbench.errors import InpaintbenchError
from inpaintbench.metrics import chunking
from inpaintbench.metrics.lpips_weights import BACKBONES, ENV_VAR
from inpaintbench.metrics.perceptual import LPIPS, build_network
from inpaintbench.metrics.pixel import PSNR, PSNR_CAP_DB, L1Hole, L2Hole, PSNRHole
from inpaintbench.metrics.ssim import SSIM
from inpaintbench.metrics.weights import candidate_path
from inpaintbench.plugins import build_registry

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
WEIGHTLESS_METRICS = (PSNR, PSNRHole, L1Hole, L2Hole, SSIM)


@cache
def photos(size: int) -> np.ndarray:
    """N x H x W x 3 float64: centre square crops of scikit-image's colour photos, resized."""
    out = []
    for name in PHOTOS:
        image = getattr(data, name)()[..., :3] / 255.0
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        out.append(
            transform.resize(image[top : top + side, left : left + side], (size, size), anti_aliasing=True)
        )
    return np.stack(out)


def perturbed(images: np.ndarray, kind: str) -> np.ndarray:
    rng = np.random.default_rng(0)
    if kind == "noise":
        return np.clip(images + rng.normal(0, 0.05, images.shape), 0, 1)
    if kind == "faint_noise":
        return np.clip(images + rng.normal(0, 0.002, images.shape), 0, 1)
    if kind == "blur":
        return np.stack([filters.gaussian(x, sigma=2, channel_axis=-1) for x in images])
    if kind == "quantised":
        return np.round(images * 255) / 255
    raise ValueError(kind)


def masks(n: int, size: int) -> np.ndarray:
    """N x H x W bool (True = hole): centre squares and thresholded smooth noise blobs, alternating."""
    rng = np.random.default_rng(1)
    out = np.zeros((n, size, size), bool)
    q = size // 4
    for i in range(n):
        if i % 2 == 0:
            out[i, q : 3 * q, q : 3 * q] = True
        else:
            out[i] = filters.gaussian(rng.random((size, size)), sigma=size / 16) > 0.5
    return out


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32).contiguous()


def batch(size: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Composited (pred, target, hole) as float32-exact float64 arrays, like the runner hands over."""
    target = photos(size)
    hole = masks(len(target), size)
    filled = perturbed(target, "blur")
    pred = np.where(hole[..., None], filled, target)
    as32 = lambda x: x.astype(np.float32).astype(np.float64)  # noqa: E731
    return as32(pred), as32(target), hole


def compute(metric_cls: type, pred: np.ndarray, target: np.ndarray, hole: np.ndarray) -> np.ndarray:
    mask = torch.from_numpy(hole[:, None].astype(np.float32))
    return metric_cls().compute(to_tensor(pred), to_tensor(target), mask).numpy()


def test_registry_exposes_the_metrics_with_their_direction():
    registry = build_registry()
    assert {"psnr", "psnr_hole", "ssim", "lpips", "l1_hole", "l2_hole"} <= set(registry.names("metric"))
    for name in ("psnr", "psnr_hole", "ssim", "lpips", "l1_hole", "l2_hole"):
        cls = registry.components["metric"][name]
        expected = "higher is better" if cls.higher_is_better else "lower is better"
        assert expected in cls.description
    assert registry.get("metric", "lpips:vgg").net == "vgg"
    assert registry.get("metric", "lpips").net == "alex"
    with pytest.raises(InpaintbenchError, match="lpips:squeeze"):
        registry.get("metric", "lpips:squeeze")


def test_importing_the_metrics_does_not_import_torch():
    code = "import sys, inpaintbench.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_psnr_matches_skimage():
    pred, target, hole = batch()
    expected = [peak_signal_noise_ratio(t, p, data_range=1) for p, t in zip(pred, target, strict=True)]
    np.testing.assert_allclose(compute(PSNR, pred, target, hole), expected, rtol=1e-12)


def test_hole_metrics_match_numpy_and_skimage():
    pred, target, hole = batch()
    inside = [(p[m], t[m]) for p, t, m in zip(pred, target, hole, strict=True)]  # hole pixels x 3 channels
    np.testing.assert_allclose(
        compute(L1Hole, pred, target, hole), [np.abs(p - t).mean() for p, t in inside], rtol=1e-12
    )
    np.testing.assert_allclose(
        compute(L2Hole, pred, target, hole), [np.square(p - t).mean() for p, t in inside], rtol=1e-12
    )
    np.testing.assert_allclose(
        compute(PSNRHole, pred, target, hole),
        [peak_signal_noise_ratio(t, p, data_range=1) for p, t in inside],
        rtol=1e-12,
    )


def test_identical_images_cap_psnr_so_means_stay_finite():
    _, target, hole = batch()
    pred = target.copy()
    pred[1, 0, 0, 0] += 1 / 255  # one 8-bit level in one channel of one pixel: just under the cap
    psnr = compute(PSNR, pred, target, hole)
    assert psnr[0] == PSNR_CAP_DB == compute(PSNRHole, target, target, hole)[0]
    assert psnr[1] == pytest.approx(10 * np.log10(128 * 128 * 3 * 255**2), abs=1e-3)  # 95.07 dB
    assert np.isfinite(psnr.mean())


def test_empty_hole_gives_nan_for_hole_metrics_only():
    pred, target, hole = batch()
    hole[2] = False
    for cls in (L1Hole, L2Hole, PSNRHole):
        values = compute(cls, pred, target, hole)
        assert np.isnan(values[2]) and np.isfinite(np.delete(values, 2)).all()
    assert np.isfinite(compute(PSNR, pred, target, hole)).all()


@pytest.mark.parametrize("metric_cls", WEIGHTLESS_METRICS, ids=lambda c: c.name)
def test_batch_equals_per_image_and_chunking_changes_nothing(metric_cls, monkeypatch):
    pred, target, hole = batch()
    whole = compute(metric_cls, pred, target, hole)
    one_by_one = [
        compute(metric_cls, pred[i : i + 1], target[i : i + 1], hole[i : i + 1])[0] for i in range(4)
    ]
    np.testing.assert_allclose(whole, one_by_one, rtol=1e-12)
    monkeypatch.setattr(chunking, "CPU_CHUNK_ELEMENTS", 1)  # one image per chunk
    np.testing.assert_allclose(compute(metric_cls, pred, target, hole), whole, rtol=1e-12)
    assert compute(metric_cls, pred[:0], target[:0], hole[:0]).shape == (0,)


@pytest.mark.parametrize("size", [128, pytest.param(256, marks=pytest.mark.slow)])
@pytest.mark.parametrize("kind", ["noise", "faint_noise", "blur", "quantised", "hole_fill"])
def test_ssim_matches_skimage_within_1e5(size, kind):
    target = photos(size)
    if kind == "hole_fill":
        pred, target, _ = batch(size)
    else:
        pred = perturbed(target, kind)
    expected = [
        structural_similarity(
            p, t, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1
        )
        for p, t in zip(pred, target, strict=True)
    ]
    got = SSIM().compute(to_tensor(pred), to_tensor(target), torch.zeros(1))
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-5)


def test_ssim_of_identical_images_is_one_and_tiny_images_are_refused():
    images = to_tensor(photos(128))
    assert torch.equal(SSIM().compute(images, images, torch.zeros(1)), torch.ones(4, dtype=torch.float64))
    with pytest.raises(InpaintbenchError, match="11x11"):
        SSIM().compute(images[..., :10, :], images[..., :10, :], torch.zeros(1))


def lama_ssim_reference(pred: np.ndarray, target: np.ndarray) -> float:
    """LaMa's evaluator formula written independently in float64: an 11 x 11 Gaussian (sigma 1.5) from
    its definition, moments filtered with zero padding, the SSIM map averaged over every pixel and
    channel."""
    x = np.arange(11) - 5
    g = np.exp(-(x**2) / (2 * 1.5**2))
    window = np.outer(g, g) / g.sum() ** 2
    ssims = []
    for c in range(3):
        a, b = pred[..., c], target[..., c]
        blur = lambda v: ndimage.convolve(v, window, mode="constant", cval=0.0)  # noqa: E731
        mu_a, mu_b = blur(a), blur(b)
        var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
        cov = blur(a * b) - mu_a * mu_b
        c1, c2 = 0.01**2, 0.03**2
        ssims.append(
            ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
        )
    return float(np.mean(ssims))


def edgeconnect_reference(metric: str, pred: np.ndarray, target: np.ndarray) -> float:
    """EdgeConnect's scripts/metrics.py calls, on scikit-image's current names for them."""
    a, b = color.rgb2gray(target), color.rgb2gray(pred)
    if metric == "psnr":
        return peak_signal_noise_ratio(a, b, data_range=1)
    return structural_similarity(a, b, data_range=1, win_size=51)


def profile_cases(size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    target = photos(size)
    hole_fill = batch(size)[:2]
    return [(perturbed(target, kind), target) for kind in ("noise", "blur", "quantised")] + [hole_fill]


@pytest.mark.parametrize("size", [64, 128, 256])
def test_ssim_lama_profile_equals_lamas_formula_within_1e5(size):
    moved = 0.0
    for pred, target in profile_cases(size):
        expected = [lama_ssim_reference(p, t) for p, t in zip(pred, target, strict=True)]
        got = SSIM("lama").compute(to_tensor(pred), to_tensor(target), torch.zeros(1)).numpy()
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
        default = SSIM().compute(to_tensor(pred), to_tensor(target), torch.zeros(1)).numpy()
        moved = max(moved, np.abs(got - default).max())
    assert moved > 1e-3  # the border counts: a different number


@pytest.mark.parametrize(("metric_cls", "metric"), [(SSIM, "ssim"), (PSNR, "psnr")])
def test_edgeconnect_profiles_equal_its_metrics_script(metric_cls, metric):
    for pred, target in profile_cases(128):
        expected = [edgeconnect_reference(metric, p, t) for p, t in zip(pred, target, strict=True)]
        got = metric_cls("edgeconnect").compute(to_tensor(pred), to_tensor(target), torch.zeros(1)).numpy()
        tolerance = {"atol": 1e-5, "rtol": 0} if metric == "ssim" else {"rtol": 1e-7}
        np.testing.assert_allclose(got, expected, **tolerance)


def test_unknown_profiles_are_refused_and_known_ones_listed():
    registry = build_registry()
    assert registry.get("metric", "ssim:lama").arg == "lama"
    for spec in ("ssim:skimage", "psnr:lama"):
        with pytest.raises(InpaintbenchError, match="unknown profile"):
            registry.get("metric", spec)
    with pytest.raises(InpaintbenchError, match="51x51"):
        SSIM("edgeconnect").compute(to_tensor(photos(32)), to_tensor(photos(32)), torch.zeros(1))


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """A torch hub cache with no weights in it, and no override."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return tmp_path


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_without_weights_is_unavailable_with_one_clear_line(empty_torch_home, net):
    backbone = BACKBONES[net]
    with pytest.raises(MetricUnavailable) as info:
        LPIPS(net).setup(torch.device("cpu"))
    message = str(info.value)
    assert "\n" not in message
    expected_path = empty_torch_home / "hub" / "checkpoints" / backbone.filename
    assert f"not found at {expected_path}" in message
    assert f"https://download.pytorch.org/models/{backbone.filename}" in message
    assert ENV_VAR in message


def test_lpips_with_a_corrupt_backbone_is_unavailable(empty_torch_home):
    path = candidate_path(BACKBONES["alex"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the AlexNet weights")
    with pytest.raises(MetricUnavailable, match="has sha256 .*expected 7be5be791159472b"):
        LPIPS().setup(torch.device("cpu"))


def test_lpips_backbone_override_accepts_a_folder_or_a_file(empty_torch_home, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(empty_torch_home))
    assert candidate_path(BACKBONES["vgg"]) == empty_torch_home / "vgg16-397923af.pth"
    monkeypatch.setenv(ENV_VAR, str(empty_torch_home / "my-alexnet.pth"))
    with pytest.raises(MetricUnavailable, match="my-alexnet.pth"):
        LPIPS().setup(torch.device("cpu"))


def test_lpips_setup_loads_a_verified_backbone_into_the_trunk(tmp_path, monkeypatch):
    """A random AlexNet stands in for the ImageNet file, its own sha256 pinned for the test: this
    checks lookup, verification and the torchvision -> lpips layer mapping, not LPIPS values."""
    import torchvision

    torch.manual_seed(0)
    alexnet = torchvision.models.alexnet(weights=None).eval()
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save({k: v for k, v in alexnet.state_dict().items() if k.startswith("features.")}, path)
    pinned = replace(BACKBONES["alex"], filename=path.name, sha256=sha256_file(path))
    monkeypatch.setitem(BACKBONES, "alex", pinned)
    monkeypatch.setenv(ENV_VAR, str(path))
    metric = LPIPS()
    metric.setup(torch.device("cpu"))
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        relus = metric.network.net(x)
        torch.testing.assert_close(relus.relu1, alexnet.features[:2](x))
        torch.testing.assert_close(relus.relu5, alexnet.features[:12](x))


def test_lpips_plumbing_with_a_random_backbone():
    """PLUMBING ONLY: a random AlexNet trunk, so these numbers are not LPIPS values.

    Checks the [0,1] -> [-1,1] mapping (against lpips' own ``normalize=True``), batch vs per-image
    equality and zero distance between identical images.
    """
    torch.manual_seed(0)
    metric = LPIPS()
    metric.network = build_network("alex", backbone=None)
    pred, target, _ = batch()
    pred, target = to_tensor(pred), to_tensor(target)
    got = metric.compute(pred, target, torch.zeros(1))
    with torch.no_grad():
        reference = metric.network(pred, target, normalize=True).flatten()
    torch.testing.assert_close(got, reference)
    one_by_one = torch.cat(
        [metric.compute(pred[i : i + 1], target[i : i + 1], torch.zeros(1)) for i in range(4)]
    )
    torch.testing.assert_close(got, one_by_one, rtol=1e-5, atol=1e-6)
    assert torch.equal(metric.compute(target, target, torch.zeros(1)), torch.zeros(4))


@pytest.mark.slow
@pytest.mark.skipif(
    not candidate_path(BACKBONES["alex"]).is_file(),
    reason="AlexNet ImageNet weights not in the torch hub cache",
)
def test_lpips_with_real_weights_matches_the_lpips_package():
    import lpips

    pred, target, _ = batch()
    metric = LPIPS()
    metric.setup(torch.device("cpu"))
    got = metric.compute(to_tensor(pred), to_tensor(target), torch.zeros(1))
    reference = lpips.LPIPS(net="alex", verbose=False)(to_tensor(pred), to_tensor(target), normalize=True)
    torch.testing.assert_close(got, reference.detach().flatten())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch sees none here")
def test_metrics_on_cuda_equal_the_cpu_results():
    pred, target, hole = batch()
    cpu = (to_tensor(pred), to_tensor(target), torch.from_numpy(hole[:, None].astype(np.float32)))
    gpu = tuple(x.cuda() for x in cpu)
    for cls in WEIGHTLESS_METRICS:
        on_gpu = cls().compute(*gpu)
        assert on_gpu.is_cuda
        torch.testing.assert_close(on_gpu.cpu(), cls().compute(*cpu), rtol=0, atol=1e-6)
    torch.manual_seed(0)
    metric = LPIPS()
    metric.network = build_network("alex", backbone=None)  # random trunk: plumbing only
    on_cpu = metric.compute(*cpu)
    metric.network = metric.network.cuda()
    torch.testing.assert_close(metric.compute(*gpu).cpu(), on_cpu, rtol=1e-2, atol=1e-4)
