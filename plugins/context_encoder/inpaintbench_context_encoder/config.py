"""Training configurations: the two presets and the string options that override them.

No torch here: the registry imports this module when it lists the model.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from inpaintbench import InpaintbenchError

MODES = ("center", "random")
PRECISIONS = ("auto", "fp32", "bf16")
AUGMENTS = ("flip", "dihedral")
LENGTH_FIELDS = ("epochs", "steps", "minutes")
#: Option ``image_cache``: decoded training images cached on disk (1), not (0), or as disk space allows.
CACHE_CHOICES = ("auto", "1", "0")
#: The fields that are real numbers: NaN or infinity in one would train forever or into NaN weights.
REAL_FIELDS = ("minutes", "lr_d", "lr_g", "beta1", "wtl2", "overlap_weight")


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _check(ok: bool, option: str, value: object, expected: str) -> None:
    if not ok:
        raise InpaintbenchError(f"option {option}='{value}' must be {expected}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run produces (hashed into the cache key).

    Length: ``epochs`` (passes over the training images, ceil(n / batch) steps each, as the Lua loop
    counts them), capped by ``steps`` and by ``minutes`` of training time when those are set. Only a
    length in steps or epochs gives the same network on a fast and a slow (or busy) machine.
    ``threads``: CPU threads of the training run (None: torch's count when training starts); the
    trainer and the cache key use the resolved configuration (``hardware.resolved``), in which
    ``precision`` is fp32 or bf16 and ``threads`` a number on the CPU.
    """

    mode: str = "center"
    bottleneck: int | str = 512
    batch_size: int = 64
    load_size: int = 160
    epochs: int | None = None
    steps: int | None = 100
    minutes: float | None = None
    lr_d: float = 0.0002
    lr_g: float = 0.002
    beta1: float = 0.5
    wtl2: float = 0.999
    overlap: int = 4
    overlap_weight: float = 10.0
    condition_adv: bool = False
    seed: int = 0
    precision: str = "auto"
    augment: str = "flip"
    lr_decay: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in REAL_FIELDS:
            value = getattr(self, name)
            _check(value is None or math.isfinite(value), name, value, "a finite number")
        _check(self.minutes is None or self.minutes > 0, "minutes", self.minutes, "positive")
        _check(self.mode in MODES, "mode", self.mode, f"one of {', '.join(MODES)}")
        _check(self.precision in PRECISIONS, "precision", self.precision, f"one of {', '.join(PRECISIONS)}")
        _check(self.augment in AUGMENTS, "augment", self.augment, f"one of {', '.join(AUGMENTS)}")
        _check(
            self.bottleneck == "channelwise" or (isinstance(self.bottleneck, int) and self.bottleneck > 0),
            "bottleneck",
            self.bottleneck,
            "a positive integer or 'channelwise'",
        )
        _check(self.load_size >= 128, "load_size", self.load_size, "at least 128 (the crop size)")
        _check(self.batch_size >= 2, "batch_size", self.batch_size, "at least 2 (batch norm needs it)")
        _check(
            not (self.condition_adv and self.mode == "random"),
            "condition_adv",
            1,
            "off in random mode (train_random.lua never implemented it)",
        )
        _check(
            self.epochs is not None or self.steps is not None or self.minutes is not None,
            "steps",
            None,
            "set, or minutes or epochs (training needs an end)",
        )

    def key(self, data_fingerprint: str, device_kind: str, world_size: int = 1) -> str:
        """Cache key: this resolved configuration (precision and thread count as trained), the training
        data it learns from, the kind of device and, for several processes (torchrun), their number, so
        that runs computing other bits never share a folder. One process keeps the keys it had."""
        if self.precision == "auto":
            raise ValueError("the cache key needs the resolved precision (hardware.resolved)")
        record: dict[str, Any] = {"config": asdict(self), "data": data_fingerprint}
        record["device_kind"] = device_kind
        if world_size != 1:
            record["world_size"] = world_size
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]

    def length(self, n_images: int) -> str:
        """What sets the training length: ``minutes`` whenever a wall-clock budget is set (the step count,
        and with ``lr_decay`` the schedule, then follow the machine's speed), else the smaller of the
        ``steps`` and ``epochs`` limits."""
        if self.minutes is not None:
            return "minutes"
        if self.epochs is not None and (
            self.steps is None or self.epochs * -(-n_images // self.batch_size) < self.steps
        ):
            return "epochs"
        return "steps"

    def recipe(self) -> dict[str, Any]:
        """Everything but the length: a run can be resumed and extended when only the length differs."""
        return {k: v for k, v in asdict(self).items() if k not in LENGTH_FIELDS}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


#: ``paper``: the README commands (nBottleneck=4000, loadSize=350, batch 64, 500 epochs, lr 0.0002
#: for D and 10x that for G). ``quick``: a fixed number of steps per network, sized so that the main
#: command trains both and evaluates in about 12 minutes on an idle 2-core CPU (README, "Presets"):
#: the paper's channel-wise bottleneck, batch 32, crops of 256 px training images, quarter turns as
#: well as mirror images, and learning rates 4x lower (same 10:1 ratio) falling linearly to zero
#: over the steps. Each choice did better on held-out photos in short runs (README, "Presets").
QUICK_STEPS = {"center": 300, "random": 180}
_QUICK = TrainConfig(
    bottleneck="channelwise",
    batch_size=32,
    load_size=256,
    steps=QUICK_STEPS["center"],
    lr_d=0.00005,
    lr_g=0.0005,
    augment="dihedral",
    lr_decay=True,
)
PRESETS: dict[str, dict[str, TrainConfig]] = {
    "paper": {
        m: TrainConfig(mode=m, bottleneck=4000, batch_size=64, load_size=350, epochs=500, steps=None)
        for m in MODES
    },
    "quick": {"center": _QUICK, "random": replace(_QUICK, mode="random", steps=QUICK_STEPS["random"])},
}

#: Options that override a preset field, with their parsers (option text -> field value).
OVERRIDES = {
    "steps": ("steps", int),
    "minutes": ("minutes", float),
    "epochs": ("epochs", int),
    "bottleneck": ("bottleneck", lambda v: v if v == "channelwise" else int(v)),
    "batch_size": ("batch_size", int),
    "load_size": ("load_size", int),
    "condition_adv": ("condition_adv", lambda v: _flag(v)),
    "precision": ("precision", str),
    "train_seed": ("seed", int),
    "augment": ("augment", str),
    "lr_decay": ("lr_decay", lambda v: _flag(v)),
    "threads": ("threads", int),
}


def config_from_options(options: dict[str, str], mode: str | None = None) -> TrainConfig:
    """The preset named by ``preset`` (default quick) with the other options applied.

    Setting ``steps`` or ``minutes`` replaces the preset's length: only the limits given apply.
    """
    preset = options.get("preset", "quick")
    if preset not in PRESETS:
        raise InpaintbenchError(f"option preset='{preset}' is not one of {', '.join(PRESETS)}")
    changes: dict[str, Any] = {}
    if "steps" in options or "minutes" in options:
        changes.update(epochs=None, steps=None, minutes=None)
    for option, (name, parse) in OVERRIDES.items():
        if option in options:
            try:
                changes[name] = parse(options[option])
            except ValueError:
                raise InpaintbenchError(f"option {option}='{options[option]}' is not valid") from None
    for name in ("steps", "epochs", "minutes", "batch_size", "load_size", "threads"):
        value = changes.get(name)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InpaintbenchError(f"option {name}='{options[name]}' must be a positive (finite) number")
    mode = mode or options.get("mode", "center")
    if mode not in MODES:
        raise InpaintbenchError(f"option mode='{mode}' is not one of {', '.join(MODES)}")
    return replace(PRESETS[preset][mode], **changes)


def check_options(options: Mapping[str, str]) -> None:
    """Every option value checked as the run or ``train`` starts, before any work: the training
    configuration of each network, ``tta``, ``mode`` and ``image_cache``."""
    for mode in MODES:
        config_from_options(options, mode)
    config_from_options(options)  # option mode itself
    views_option(options.get("tta"))
    choice = options.get("image_cache", "auto")
    if choice not in CACHE_CHOICES:
        raise InpaintbenchError(f"option image_cache='{choice}' must be one of {', '.join(CACHE_CHOICES)}")


def views_option(option: str | None) -> int | None:
    """Option ``tta``, checked before any training: 1, 2 or 8 views, or None for the default."""
    if option is not None and option not in ("1", "2", "8"):
        raise InpaintbenchError(f"option tta='{option}' must be 1, 2 or 8")
    return None if option is None else int(option)


def default_views(cfg: TrainConfig) -> int:
    """The test-time views a network trained with ``cfg`` sees: the transforms it was trained with
    (mirror images: 2; with quarter turns: 8)."""
    return 8 if cfg.augment == "dihedral" else 2
