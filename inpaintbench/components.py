"""Base classes for the four kinds of component a plugin registers, and what the host hands them.

A component is a class with a ``name`` and a one-line ``description``. The host instantiates it
with the text after the first colon of the user's spec (``folder:/data`` gives ``arg="/data"``),
or ``None`` when there is none; a component that declares no ``argument`` is never given one.
Nothing here imports torch: listing components must stay fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import InpaintbenchError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .datasets.entries import Entry

#: What every hole pixel holds in the images a model receives: the hidden pixels are replaced by this
#: constant before the model sees them, so the input carries no information about what is scored.
HOLE_VALUE = 0.0


class Component:
    """Common shape of every registered class."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    #: What the text after the colon means (one line, shown by ``list -v``), or None when the component
    #: takes no argument: then ``name:anything`` is refused before any work instead of being ignored.
    argument: ClassVar[str | None] = None

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

    ``samples`` is called once per split (``test`` for evaluation, ``train`` for models that train).
    Inputs that cannot be read are appended to ``skipped`` (``{"path": ..., "reason": ...}``) and
    never stop the run.
    """

    kind = "dataset"
    #: False for datasets that serve the same images for every split (a plain folder).
    has_splits: ClassVar[bool] = True

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        self.skipped: list[dict[str, str]] = []

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        raise NotImplementedError

    def lazy_samples(self, split: str, image_size: int) -> Iterator[Entry] | None:
        """The split's inputs before decoding, in ``samples``' order: ``Entry(image_id, read, skip)``
        (``inpaintbench.datasets.entries``), so the run's loader threads decode in parallel and each
        torchrun rank decodes only its own images. None (the default): the run streams ``samples``."""
        return None

    def source_path(self, image_id: str) -> Path | None:
        """The file an image was read from, recorded in a frozen set's manifest; None when the dataset
        reads no files (the default)."""
        return None

    def source_of(self, image_id: str) -> str | None:
        """The photo (or scene) ``image_id`` was cut from, when several images share one; None (the
        default) when each image is its own. Crops of one photo are not independent samples: the
        intervals of a run's means then resample sources, not images (``inpaintbench.summary``)."""
        return None

    def frozen_mask(self, regime: str, image_id: str) -> np.ndarray | None:
        """The stored mask (bool, True = hole) of a dataset that fixes its masks, such as a frozen
        evaluation set; None lets the regime's generator draw it."""
        return None


class MaskGenerator(Component):
    """Draws one binary mask (True = hole) for an image of the given size.

    The host hands in a generator seeded from (run seed, regime spec, image id), so every model sees
    the same mask and reruns reproduce it bit for bit. Use only ``rng`` for randomness: the host
    draws masks twice from equal seeds and refuses a generator whose masks differ.
    """

    kind = "mask"
    #: The range [low, high] every mask's hole ratio falls in, when the regime promises one; the
    #: plugin kit (``inpaintbench.testing``) checks samples against it.
    hole_ratio: tuple[float, float] | None = None

    def generate(self, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
        raise NotImplementedError

    def parameters(self, height: int, width: int) -> dict[str, Any] | None:
        """The regime's parameters at this size (widths, counts, ratios), recorded in a frozen set's
        manifest so the masks can be described without the code; None when it has none to tell."""
        return None


class MetricUnavailable(Exception):
    """Raised by ``Metric.setup`` when the metric cannot run here (for example missing weights)."""


class Metric(Component):
    """Scores a batch of composited predictions against the originals, one value per image.

    ``pred`` and ``target`` are float N x 3 x H x W in [0, 1]; ``mask`` is N x 1 x H x W (1 = hole).
    ``compute`` returns a float tensor of shape (N,). Every metric must set ``higher_is_better``
    (True or False): there is no default, since a wrong guess would rank models backwards. The inputs
    are the metric's own copies for the call: it may edit them, but must not keep them once it returns
    (the next batch's copies are written into the same memory).
    """

    kind = "metric"
    higher_is_better: ClassVar[bool]

    def setup(self, device: torch.device) -> None:
        """Load weights or other state; raise MetricUnavailable with a reason if impossible."""

    def compute(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class SetMetric(Metric):
    """A metric of a whole set of images (FID, KID): one value per (model, regime), not per image.

    It is computed from per-image features, so a run stays resumable: the runner calls ``features`` on
    every batch of composited predictions and, once per image, on the ground truth, and stores each
    image's vector with the batch's results. At the end of the run it calls ``compute_set`` with one
    (model, regime)'s stored vectors and those of the ground truth of the same images. ``compute`` is
    never called. It registers through ``register_metrics`` and is named in ``--metrics`` like any metric.
    """

    def feature_key(self) -> str:
        """Which stored features the metric reads, called after ``setup``. Set metrics with equal keys share
        one extraction (fid and kid both read Inception pool3); let the key name the weights, so vectors
        from other weights are never mixed in."""
        return self.spec

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """float N x 3 x H x W in [0, 1] on the run's device -> real, finite N x D (stored as float32)."""
        raise NotImplementedError

    def compute_set(self, pred: np.ndarray, real: np.ndarray) -> float:
        """The value from two float32 n x D arrays, rows in the same (image id) order; NaN if undefined."""
        raise NotImplementedError

    def conventions(self) -> dict[str, Any]:
        """How the value is computed (weights, preprocessing), for run.json."""
        return {}

    def caveats(self, n: int) -> list[str]:
        """Warnings a value over ``n`` images must carry wherever it is shown (terminal, run.json, report)."""
        return []


@dataclass(frozen=True)
class Batch:
    """What a model inpaints: sealed images, their masks, which images they are and under which regime.

    ``images`` is float32 N x 3 x H x W in [0, 1] with every hole pixel set to ``HOLE_VALUE``;
    ``masks`` is float32 N x 1 x H x W, 1 = hole, 0 = known; both are fresh tensors on the run's
    device, so editing them changes nothing that is scored. ``image_ids`` are the dataset's ids in
    batch order and ``regime`` is the mask regime's spec as the user wrote it (``lama-thick:512``).
    """

    images: torch.Tensor
    masks: torch.Tensor
    image_ids: tuple[str, ...]
    regime: str

    @property
    def regime_name(self) -> str:
        """The regime's registered name, without its argument."""
        return self.regime.partition(":")[0]


class TrainSplit:
    """The only data a model's ``prepare`` (or ``train``) receives: the training split of the
    training dataset. Other splits are refused, so a model cannot read the images it is scored on.

    When the training dataset is the evaluation dataset and has no splits (a plain folder), its
    "training" images are the test images: reading them is refused unless the user allowed it
    (``--train-on-test``), and then ``read_test_images`` tells the runner to mark the model's
    results not held-out.
    """

    def __init__(
        self,
        open_dataset: Callable[[], Dataset],
        spec: str,
        *,
        is_test_data: bool = False,
        allowed: bool = False,
    ) -> None:
        self._open = open_dataset
        self._dataset: Dataset | None = None
        self.spec = spec
        self.is_test_data = is_test_data
        self.allowed = allowed
        self.read_test_images = False

    @property
    def has_splits(self) -> bool:
        return self._data().has_splits

    @property
    def skipped(self) -> list[dict[str, str]]:
        return self._data().skipped

    def _data(self) -> Dataset:
        """The training dataset, opened on first use (opening a frozen set verifies every file). Private:
        the dataset itself would hand out any split."""
        if self._dataset is None:
            self._dataset = self._open()
        return self._dataset

    def _check(self, split: str) -> None:
        if split != "train":
            raise InpaintbenchError(
                f"a model may read only the 'train' split of '{self.spec}', not '{split}': "
                "the test images are what it is scored on"
            )
        if self.is_test_data:
            if not self.allowed:
                raise InpaintbenchError(
                    f"dataset '{self.spec}' has no training split: its images are the ones scored. "
                    "Train on another dataset with --train-dataset SPEC, or pass --train-on-test "
                    "(results are then marked not held-out)"
                )
            self.read_test_images = True

    def samples(self, split: str, image_size: int) -> Iterator[Sample]:
        self._check(split)
        return self._data().samples("train", image_size)

    def lazy_samples(self, split: str, image_size: int) -> Iterator[Entry] | None:
        """The training split's entries before decoding (``Dataset.lazy_samples``), under the same checks
        as ``samples``; None when the dataset does not offer them."""
        self._check(split)
        return self._data().lazy_samples("train", image_size)


@dataclass
class PrepareContext:
    """What a model may need to train or load itself before evaluation. It holds the training split
    only: the evaluation images reach a model solely through sealed ``Batch`` objects."""

    train_dataset: TrainSplit
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

    ``inpaint`` gets a sealed ``Batch`` on the run's device and returns N x 3 x H x W in [0, 1] on
    any device. The runner validates the result and composites it (prediction inside the hole, the
    original outside) before anything is scored.
    """

    kind = "model"
    #: Options the model reads from ``PrepareContext.options`` (``--option KEY=VALUE`` and the
    #: training flags), name -> one line of help. A run rejects an option that none of its models
    #: reads, so a misspelt key stops the run before any work instead of being silently ignored.
    options: ClassVar[dict[str, str]] = {}
    #: Flags of ``run`` and ``train`` that set one of ``options``: flag -> (option key, str, int or
    #: float), so a model's own settings read as flags (``--preset quick`` for ``--option
    #: preset=quick``) and a malformed number is refused by the parser. The host adds them to its
    #: command line; one that the host or another plugin already has is skipped with a warning.
    flags: ClassVar[dict[str, tuple[str, type]]] = {}

    def check_options(self, options: Mapping[str, str]) -> None:
        """Refuse a bad value of an option this model reads (``options`` holds the run's, for every model
        of it), raising ``InpaintbenchError`` naming the option: called by ``run`` and ``train`` before any
        work and before torch is imported, so it must not import torch. A model keeps what ``check``
        needs of them."""

    def check(self, device: torch.device, image_size: int) -> None:
        """Load and try whatever the model reads from outside the run (a model file, a pipeline folder)
        before any work: called once per run, after the inputs' first batch and before the output folder
        is written. Raise ``InpaintbenchError`` naming the file and what was expected: the run then ends
        with that one line and exit status 2. ``prepare`` is still called before the first batch."""

    def prepare(self, ctx: PrepareContext) -> None:
        """Train or load weights for this run. Baselines need nothing."""

    def inpaint(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def train(self, ctx: PrepareContext) -> Path:
        """Train without evaluating (``inpaintbench train``); returns the checkpoint written."""
        raise InpaintbenchError(f"model '{self.name}' has nothing to train")

    def source(self, regime: str) -> str:
        """Which weights serve ``regime`` (a checkpoint path or id); recorded on every result row."""
        return ""

    def provenance(self) -> dict[str, Any]:
        """Extra facts for run.json: checkpoints and their hashes, training settings. A ``labels`` list of
        short strings (say, "trained for a 7-minute budget") is shown beside the model in the report."""
        return {}


KINDS: dict[str, type[Component]] = {
    "model": Model,
    "mask": MaskGenerator,
    "metric": Metric,
    "dataset": Dataset,
}
