"""Checkpoints: safetensors files plus a JSON pointer, written so that a kill never leaves a broken one.

A checkpoint directory holds ``weights-<step>.safetensors`` (generator and discriminator, with the
training configuration in the header), ``optimizer-<step>.safetensors`` (Adam moments and step
counts) and ``checkpoint.json``, which names those two files with their sha256. Every file is
written to a temporary name and moved into place with ``os.replace``; the pointer goes last, and
files it no longer names are deleted after it. Until the new pointer lands, the old one still names
complete files. No pickle anywhere.

Everything read back is distrusted: the pointer must be a JSON object of the expected shape, the
files it names must be regular files inside its folder, a safetensors header length is checked
against the file size before it is read, and weights are checked against their sha256 whenever
they are used, a cached finished checkpoint included. A bad file is one line naming it and saying
how to recover.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load, save

from inpaintbench import InpaintbenchError

from . import released
from .config import TrainConfig
from .networks import Generator
from .step import TrainStep

POINTER = "checkpoint.json"
FORMAT = "inpaintbench-context-encoder/1"
HEADER_KEY = "inpaintbench_context_encoder"
#: The largest safetensors JSON header read (the real ones are a few kB).
MAX_HEADER = 16 * 2**20
#: Pointer keys that name files in the checkpoint's folder, each with the key of its sha256.
FILES = {"weights": "weights_sha256", "optimizer": "optimizer_sha256"}
#: The networks whose optimiser state a pointer records.
NETWORKS = ("generator", "discriminator")


class BadCheckpoint(InpaintbenchError):
    """A checkpoint file that cannot be trusted; the message names it and how to recover."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"checkpoint '{path}' {problem}: {_cure(Path(path))}")


def _cure(path: Path) -> str:
    """Deleting the folder trains the network again only where the folder is a checkpoint's (it holds,
    or ``path`` is, a pointer); a file given on its own (a released .t7, /dev/zero) sits in a folder that
    is not ours to suggest deleting."""
    folder = path.parent
    if path.name == POINTER or (folder / POINTER).is_file():
        return f"delete {folder} to train it again, or give another checkpoint"
    return "give another checkpoint"


@dataclass
class Checkpoint:
    """A checkpoint on disk: ``meta`` is the pointer's content."""

    directory: Path
    meta: dict[str, Any]

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_json(self.meta["config"])

    @property
    def weights_path(self) -> Path:
        return _inside(self.directory, self.meta["weights"])

    @property
    def step(self) -> int:
        return int(self.meta["step"])

    @property
    def complete(self) -> bool:
        return bool(self.meta.get("complete"))

    def weights(self) -> dict[str, torch.Tensor]:
        """The weight tensors, after checking the file against its recorded sha256."""
        path = self.weights_path
        data = _read_verified(path, self.meta["weights_sha256"])
        if self.meta.get("format") == released.FORMAT:
            return {f"generator.{k}": v for k, v in released.read_generator(path, data)[1].items()}
        try:
            return load(data)
        except InpaintbenchError:
            raise
        except Exception as exc:  # safetensors' own parse errors on a file with the right sha
            raise BadCheckpoint(path, f"is not a readable safetensors file ({exc})") from None

    def verify(self) -> Checkpoint:
        """Check every file the pointer names against its sha256 (a cached checkpoint is reused
        only after this); returns itself."""
        for key, sha_key in FILES.items():
            if key in self.meta:
                _read_verified(_inside(self.directory, self.meta[key]), self.meta[sha_key])
        return self


def write_atomic(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``; returns its sha256."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


def save_checkpoint(directory: Path, trainer: TrainStep, meta: dict[str, Any]) -> Checkpoint:
    """Save networks and optimiser state; ``meta`` must hold at least ``step`` and ``config``."""
    directory.mkdir(parents=True, exist_ok=True)
    step = int(meta["step"])
    tensors = {f"generator.{k}": v for k, v in trainer.gen.state_dict().items()}
    tensors |= {f"discriminator.{k}": v for k, v in trainer.disc.state_dict().items()}
    # One metadata key: safetensors writes several in hash-map order, so equal weights gave different files.
    header = {HEADER_KEY: json.dumps({"format": FORMAT, "config": meta["config"]}, sort_keys=True)}
    weights = f"weights-{step:08d}.safetensors"
    weights_sha = write_atomic(directory / weights, save(_cpu(tensors), metadata=header))
    moments, groups = {}, {}
    for name, opt in zip(NETWORKS, (trainer.opt_g, trainer.opt_d), strict=True):
        state = opt.state_dict()
        for index, entries in state["state"].items():
            moments |= {f"{name}.{index}.{key}": value for key, value in entries.items()}
        groups[name] = state["param_groups"]
    optimizer = f"optimizer-{step:08d}.safetensors"
    optimizer_sha = write_atomic(directory / optimizer, save(_cpu(moments)))
    pointer = {
        **meta,
        "format": FORMAT,
        "weights": weights,
        "weights_sha256": weights_sha,
        "optimizer": optimizer,
        "optimizer_sha256": optimizer_sha,
        "optimizer_groups": groups,
    }
    write_atomic(directory / POINTER, json.dumps(pointer, indent=1).encode())
    for stale in [*directory.glob("*.safetensors"), *directory.glob(".*.tmp-*")]:
        if stale.name not in (weights, optimizer):  # older steps, and temp files of killed saves
            stale.unlink()
    return Checkpoint(directory, pointer)


def find_checkpoint(directory: Path) -> Checkpoint | None:
    """The checkpoint in ``directory``, or None when there is none yet."""
    pointer = directory / POINTER
    # lexists: a FIFO or a dangling link there is refused, not taken for "nothing trained yet"
    return open_checkpoint(pointer) if os.path.lexists(pointer) else None


def open_checkpoint(path: Path) -> Checkpoint:
    """A checkpoint directory, its ``checkpoint.json``, a bare weights file (config from its header),
    or a released Torch7 model file (``.t7``: config inferred from its layers, see ``released``)."""
    path = Path(path)
    if path.is_dir():
        path = path / POINTER
    if not path.exists():
        raise InpaintbenchError(f"checkpoint '{path}' does not exist")
    _regular(path)
    if path.suffix.lower() == ".t7":
        return Checkpoint(path.parent, released.released_meta(path, _read(path)))
    if path.suffix == ".safetensors":
        header = _safetensors_header(path)
        try:
            config = json.loads(header[HEADER_KEY])["config"]
        except (KeyError, TypeError, ValueError):
            raise BadCheckpoint(path, "has no Context Encoder configuration in its header") from None
        meta = {"config": config, "weights": path.name, "step": -1, "complete": True}
        meta["weights_sha256"] = hashlib.sha256(_read(path)).hexdigest()
    else:
        try:
            meta = json.loads(_read(path))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadCheckpoint(path, f"is not valid JSON ({exc})") from None
    return Checkpoint(path.parent, _checked_meta(meta, path))


def _checked_meta(meta: object, path: Path) -> dict[str, Any]:
    """The pointer's content if it has the shape this plugin writes, else a BadCheckpoint naming what."""
    if not isinstance(meta, dict):
        raise BadCheckpoint(path, f"holds a JSON {type(meta).__name__}, not an object")
    if path.suffix != ".safetensors" and meta.get("format") != FORMAT:
        raise InpaintbenchError(f"checkpoint '{path}' is not a {FORMAT} checkpoint")
    if not isinstance(meta.get("config"), dict):
        raise BadCheckpoint(path, "has no 'config' object")
    try:
        TrainConfig.from_json(meta["config"])
    except (TypeError, ValueError) as exc:
        raise BadCheckpoint(path, f"has an unusable 'config' ({exc})") from None
    if type(meta.get("step")) is not int:
        raise BadCheckpoint(path, f"has step {meta.get('step')!r}, not an integer")
    elapsed = meta.get("elapsed_s", 0.0 if path.suffix == ".safetensors" else None)
    if not isinstance(elapsed, int | float) or isinstance(elapsed, bool) or not 0 <= elapsed < math.inf:
        raise BadCheckpoint(path, f"has elapsed_s {elapsed!r}, not a number of seconds")
    groups = meta.get("optimizer_groups")
    if "optimizer" in meta and not (
        isinstance(groups, dict)
        and all(isinstance(groups.get(net), list) and groups[net] for net in NETWORKS)
        and all(isinstance(group, dict) for net in NETWORKS for group in groups[net])
    ):
        raise BadCheckpoint(path, "has no usable 'optimizer_groups' (a list of groups per network)")
    for key, sha_key in FILES.items():
        if key not in meta and key == "optimizer":
            continue
        name, sha = meta.get(key), meta.get(sha_key)
        if not isinstance(name, str) or not isinstance(sha, str) or len(sha) != 64:
            raise BadCheckpoint(path, f"has no usable '{key}' and '{sha_key}' entries")
        _inside(path.parent, name)
    return meta


def _inside(directory: Path, name: str) -> Path:
    """``directory / name`` when ``name`` is a plain file name: a pointer never leads outside its folder."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise BadCheckpoint(Path(directory) / POINTER, f"names the file {name!r}, which is not in its folder")
    return Path(directory) / name


def _regular(path: Path) -> None:
    """Refuse anything but a regular file (a FIFO would hang a read, /dev/zero never ends)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InpaintbenchError(f"checkpoint file '{path}' cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise BadCheckpoint(path, "is not a regular file")


def _read(path: Path) -> bytes:
    _regular(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InpaintbenchError(f"checkpoint file '{path}' cannot be read: {exc.strerror}") from None


def load_generator(ckpt: Checkpoint, device: torch.device) -> Generator:
    """The checkpoint's generator on ``device``, in eval mode."""
    cfg = ckpt.config
    prefix = "generator."
    tensors = {k[len(prefix) :]: v for k, v in ckpt.weights().items() if k.startswith(prefix)}
    gen = Generator(64 if cfg.mode == "center" else 128, cfg.bottleneck, bias="0.bias" in tensors)
    try:
        gen.load_state_dict(tensors)
    except RuntimeError as exc:
        raise InpaintbenchError(f"checkpoint '{ckpt.weights_path}' does not fit its config: {exc}") from None
    return gen.to(device).eval()


def restore(ckpt: Checkpoint, trainer: TrainStep) -> None:
    """Load networks and optimiser state into a freshly built ``TrainStep`` to resume training."""
    tensors = ckpt.weights()
    for name, net in (("generator", trainer.gen), ("discriminator", trainer.disc)):
        prefix = f"{name}."
        net.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    path = _inside(ckpt.directory, ckpt.meta["optimizer"])
    moments = load(_read_verified(path, ckpt.meta["optimizer_sha256"]))
    for name, opt in (("generator", trainer.opt_g), ("discriminator", trainer.opt_d)):
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in moments.items():
            net, index, entry = key.split(".")
            if net == name:
                state.setdefault(int(index), {})[entry] = value
        opt.load_state_dict({"state": state, "param_groups": ckpt.meta["optimizer_groups"][name]})
        _match_layouts(opt)


def _match_layouts(opt: torch.optim.Optimizer) -> None:
    """Lay each Adam moment out like its parameter (checkpoints store them contiguous; channels_last
    weights need channels_last moments): fused Adam refuses a mismatch on CUDA and, on the CPU,
    pairs the wrong elements without a word."""
    for group in opt.param_groups:
        for param in group["params"]:
            state = opt.state[param]
            for key, value in state.items():
                if value.shape == param.shape and value.stride() != param.stride():
                    state[key] = torch.empty_like(param).copy_(value)


def _cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}


def _read_verified(path: Path, sha256: str) -> bytes:
    if not path.exists():
        raise BadCheckpoint(path, f"is missing although {POINTER} names it")
    data = _read(path)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BadCheckpoint(path, f"does not match the sha256 in {POINTER} (changed or damaged)")
    return data


def _safetensors_header(path: Path) -> dict[str, str]:
    """The header's metadata, reading no more than the file holds."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        length = int.from_bytes(fh.read(8), "little")
        if size < 8 or length > min(size - 8, MAX_HEADER):
            raise BadCheckpoint(path, "is not a safetensors file (its header length does not fit the file)")
        try:
            header = json.loads(fh.read(length))
        except (ValueError, UnicodeDecodeError):
            raise BadCheckpoint(path, "is not a safetensors file (its header is not JSON)") from None
    metadata = header.get("__metadata__", {}) if isinstance(header, dict) else None
    if not isinstance(metadata, dict):
        raise BadCheckpoint(path, "is not a safetensors file (its header is not a JSON object)")
    return metadata
