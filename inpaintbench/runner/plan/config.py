"""What a run will do, resolved and checked before torch is imported.

Every name (models, masks, metrics, datasets), option, bound and the output folder is checked here, so a
typo costs the time of loading the plugin registry (a fraction of a second), not of importing torch: the
CLI builds the plan first and imports the pipeline (``runner/run.py``) only when the plan is sound.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

from ...components import Dataset, MaskGenerator, Metric, Model
from ...errors import InpaintbenchError
from ...files.atomic import kind
from ...options import check_options
from ...plugins import Registry
from .bounds import check_image_size, check_names, check_positive

#: The metrics a run scores when ``--metrics`` is not given.
DEFAULT_METRICS = ("psnr", "ssim", "lpips", "l1_hole", "l2_hole", "psnr_hole")

#: Settings a resumed run must share with the stored one, or its rows would not be comparable. The data
#: itself is checked image by image as the stream goes (``source/identity.py``).
IDENTITY_KEYS = ("dataset", "image_size", "seed", "limit", "metrics", "float_scores")


@dataclass
class RunConfig:
    """A run's settings: the one place their defaults and types are declared. The CLI's defaults
    (``default``) and the checks of a stored run.json (``types``) are derived from it."""

    models: list[str]
    masks: list[str] = field(default_factory=lambda: ["center", "random"])
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    dataset: str = "samples"
    train_dataset: str | None = None
    image_size: int = 128
    seed: int = 0
    limit: int | None = None
    batch_size: int = 16
    device: str = "auto"
    options: dict[str, str] = field(default_factory=dict)
    save_images: bool = True
    #: Let models train on the evaluation images when the dataset has no training split; their
    #: results are then marked not held-out everywhere.
    train_on_test: bool = False
    #: Score the float images and composites instead of the 8-bit ones the folder saves; the numbers
    #: are then not recomputable from the folder's PNGs (run.json and the report say so).
    float_scores: bool = False
    #: The models of ``models`` that the run added as reference baselines (``references.py``).
    references: list[str] = field(default_factory=list)

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of setting ``name``."""
        declared = cls.__dataclass_fields__[name]
        return declared.default_factory() if declared.default_factory is not MISSING else declared.default

    @classmethod
    def types(cls) -> dict[str, tuple[type, ...]]:
        """The type(s) each setting's stored value may have (``NoneType`` where it may be null)."""
        found = {}
        for name, hint in get_type_hints(cls).items():
            options = get_args(hint) if isinstance(hint, UnionType) else (hint,)
            found[name] = tuple(get_origin(option) or option for option in options)
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Plan:
    """The run's configuration with every component instantiated, in the order the user named them."""

    config: RunConfig
    out: Path
    registry: Registry
    dataset: Dataset
    masks: dict[str, MaskGenerator]
    metrics: dict[str, Metric]
    models: dict[str, Model]

    @classmethod
    def resolve(cls, config: RunConfig, out: Path, registry: Registry) -> Plan:
        """Instantiate and check everything the run names; raises one ``InpaintbenchError`` line."""
        dataset = registry.get("dataset", config.dataset)
        masks = {m: registry.get("mask", m) for m in config.masks}
        metrics = {m: registry.get("metric", m) for m in config.metrics}
        models = {spec: registry.get("model", spec) for spec in config.models}
        for flag, specs in (
            ("--model", config.models),
            ("--masks", config.masks),
            ("--metrics", config.metrics),
        ):
            check_names(flag, specs)
        if config.train_dataset is not None:
            registry.get("dataset", config.train_dataset)  # read only by models that train
        check_options(config.options, list(models.values()))
        for model in models.values():
            model.check_options(config.options)
        check_image_size(config.image_size)
        check_positive("--batch-size", config.batch_size)
        check_positive("--limit", config.limit)
        out = Path(out)
        if kind(out, "--out") == "file":
            raise InpaintbenchError(f"{out} is a file, not a folder: give --out a folder")
        return cls(config, out, registry, dataset, masks, metrics, models)
