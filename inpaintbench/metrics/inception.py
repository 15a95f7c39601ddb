"""Inception-v3 pool3 features for the set-level metrics (fid, kid), through torch-fidelity.

Why torch-fidelity rather than clean-fid:

- it reads the weights from an explicit path (``feature_extractor_weights_path``), so the verified local
  file is all it touches; clean-fid's feature extractor downloads its TorchScript model into /tmp;
- its extractor takes the uint8 batches we hand it, on the CPU or CUDA, so features are extracted batch by
  batch as the run scores (clean-fid works on folders, resizing each image with PIL on the CPU);
- its network is the TensorFlow Inception graph of 2015-12-05 that the original FID code (TTUR) uses, with
  TF1-compatible bilinear resizing, so its FIDs match the TensorFlow ones the papers report (LaMa, MAT,
  CoModGAN); clean-fid's default "clean" resizing gives different numbers by design.

Preprocessing, as torch-fidelity does it: each [0, 1] image is rounded to uint8 (as the run's PNGs are, so
features of those files equal the stored ones), resized to 299 x 299 by torch-fidelity's TF1-compatible
bilinear interpolation and scaled to [-1, 1]; the features are the 2048-d pool3 activations (float32).
On CUDA, TF32 is turned off around the network, so its convolutions run in float32 as on the CPU.

The weights (``WEIGHTS``) are never downloaded: see ``weights`` for where they are looked up.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar

from ..components import SetMetric
from .weights import FoundWeights, WeightsFile, find_weights, unverified_allowed

if TYPE_CHECKING:
    import torch

ENV_VAR = "INPAINTBENCH_INCEPTION_WEIGHTS"
#: torch-fidelity's URL_INCEPTION_V3; the name embeds the first 8 hex digits of the file's sha256.
WEIGHTS = WeightsFile(
    "torch-fidelity's Inception-v3 weights (TF graph 2015-12-05)",
    "weights-inception-2015-12-05-6726825d.pth",
    "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    ENV_VAR,
)
EXTRACTOR = "inception-v3-compat"
POOL3 = "2048"


@lru_cache(maxsize=1)
def load_extractor(found: FoundWeights, device: str) -> Any:
    """torch-fidelity's Inception-v3 with the found weights, on ``device`` (cached: fid and kid share it)."""
    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    if not found.verified:  # torch-fidelity unpickles the file in full: refuse one that carries code first
        torch.load(found.path, map_location="cpu", weights_only=True)
    network = FeatureExtractorInceptionV3(EXTRACTOR, [POOL3], feature_extractor_weights_path=str(found.path))
    return network.to(device)


def pool3(network: Any, images: torch.Tensor) -> torch.Tensor:
    """N x 2048 float32 features of float N x 3 x H x W images in [0, 1]."""
    import torch
    from torch.backends import cudnn

    pixels = (images * 255).round().clamp(0, 255).to(torch.uint8)
    saved, cudnn.allow_tf32 = cudnn.allow_tf32, False
    try:
        with torch.inference_mode():
            (features,) = network(pixels)
    finally:
        cudnn.allow_tf32 = saved
    return features


class InceptionSetMetric(SetMetric):
    """What fid and kid share: the weights, the extractor, their conventions, the unverified-weights label."""

    higher_is_better: ClassVar[bool] = False
    #: How the value is written in warnings ("FID").
    label: ClassVar[str] = ""

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.found: FoundWeights | None = None
        self.network: Any = None

    def setup(self, device: torch.device) -> None:
        self.found = find_weights(WEIGHTS, self.name, allow_unverified=unverified_allowed())
        self.network = load_extractor(self.found, str(device))

    def feature_key(self) -> str:
        assert self.found is not None, "feature_key is called after setup"
        return f"{EXTRACTOR} pool3 {self.found.sha256[:16]}"

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return pool3(self.network, images)

    def conventions(self) -> dict[str, Any]:
        weights: dict[str, Any] = {"file": WEIGHTS.filename, "published_sha256": WEIGHTS.sha256}
        if self.found is not None:
            found = self.found
            weights |= {"path": str(found.path), "sha256": found.sha256, "verified": found.verified}
        return {
            "library": f"torch-fidelity {metadata.version('torch-fidelity')}",
            "images": "the composited predictions of one (model, regime) against the ground truth of the "
            "same images (the test split), full image",
            "preprocessing": "rounded to uint8, resized to 299 x 299 by torch-fidelity's TF1-compatible "
            "bilinear interpolation, scaled to [-1, 1]",
            "features": f"Inception-v3 ({EXTRACTOR}, TF graph 2015-12-05) pool3, 2048-d, float32",
            "weights": weights,
        }

    def caveats(self, n: int) -> list[str]:
        if self.found is None or self.found.verified:
            return []
        return [f"unverified weights: not the real {self.label} (sha256 {self.found.sha256[:16]}...)"]
