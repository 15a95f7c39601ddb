"""Base classes for the four kinds of component a plugin registers.

A component is a class with a ``name`` and a one-line ``description``. The host instantiates it
with the text after the first colon of the user's spec (``folder:/data`` gives ``arg="/data"``),
or ``None`` when there is none. Nothing here imports torch: listing components must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import torch


class Component:
    """Common shape of every registered class."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    def __init__(self, arg: str | None = None) -> None:
        self.arg = arg

    @property
    def spec(self) -> str:
        """The name as the user wrote it, argument included."""
        return self.name if self.arg is None else f"{self.name}:{self.arg}"


@dataclass
class Sample:
    """One evaluation or training image: ``image`` is float32 H x W x 3 in [0, 1]."""

    image_id: str
    image: np.ndarray


class Dataset(Component):
    """A source of RGB images at a requested square size.

    ``samples`` is called once per split. Inputs that cannot be read are appended to ``skipped``
    (``{"path": ..., "reason": ...}``) and never stop the run.
    """

    kind = "dataset"
    #: False for datasets that serve the same images for every split (a plain folder).
    has_splits: ClassVar[bool] = True

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.skipped: list[dict[str, str]] = []

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        raise NotImplementedError

    def frozen_mask(self, regime: str, image_id: str) -> np.ndarray | None:
        """The stored mask (bool, True = hole) of a dataset that fixes its masks, such as a frozen
        evaluation set; None lets the regime's generator draw it."""
        return None


class MaskGenerator(Component):
    """Draws one binary mask (True = hole) for an image of the given size.

    The host hands in a generator seeded from (run seed, regime spec, image id), so every model sees
    the same mask and reruns reproduce it bit for bit. Use only ``rng`` for randomness.
    """

    kind = "mask"

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        raise NotImplementedError


class MetricUnavailable(Exception):
    """Raised by ``Metric.setup`` when the metric cannot run here (for example missing weights)."""


class Metric(Component):
    """Scores a batch of composited predictions against the originals, one value per image.

    ``pred`` and ``target`` are float N x 3 x H x W in [0, 1]; ``mask`` is N x 1 x H x W (1 = hole).
    """

    kind = "metric"
    higher_is_better: ClassVar[bool] = True

    def setup(self, device: torch.device) -> None:
        """Load weights or other state; raise MetricUnavailable with a reason if impossible."""

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@dataclass
class PrepareContext:
    """What a model may need to train or load itself before evaluation."""

    dataset: Dataset
    train_dataset: Dataset
    image_size: int
    device: torch.device
    seed: int
    regimes: list[str]
    options: dict[str, str] = field(default_factory=dict)
    cache_dir: Path = Path(".")
    log: Callable[[str], None] = print
    progress: bool = True


class Model(Component):
    """An inpainting model.

    ``inpaint`` gets images (float N x 3 x H x W in [0, 1]) and masks (N x 1 x H x W, 1 = hole) on the
    run's device and returns N x 3 x H x W in [0, 1]. The runner composites the result (prediction
    inside the hole, original outside) and validates it.
    """

    kind = "model"
    #: Options the model reads from ``PrepareContext.options`` (``--option KEY=VALUE`` and the
    #: training flags), name -> one line of help. A run rejects an option that none of its models
    #: reads, so a misspelt key stops the run before any work instead of being silently ignored.
    options: ClassVar[dict[str, str]] = {}

    def prepare(self, ctx: PrepareContext) -> None:
        """Train or load weights for this run. Baselines need nothing."""

    def inpaint(self, images: torch.Tensor, masks: torch.Tensor, regime: str) -> torch.Tensor:
        raise NotImplementedError

    def train(self, ctx: PrepareContext) -> Path:
        """Train without evaluating (``inpaintbench train``); returns the checkpoint written."""
        from .errors import InpaintbenchError

        raise InpaintbenchError(f"model '{self.name}' has nothing to train")

    def source(self, regime: str) -> str:
        """Which weights serve ``regime`` (a checkpoint path or id); recorded on every result row."""
        return ""

    def provenance(self) -> dict[str, Any]:
        """Extra facts for run.json: checkpoints and their hashes, training settings."""
        return {}


KINDS: dict[str, type[Component]] = {
    "model": Model,
    "mask": MaskGenerator,
    "metric": Metric,
    "dataset": Dataset,
}
