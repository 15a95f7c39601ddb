"""Released model files run in-process: ``torchscript:PATH`` (``torch.jit.save``), ``exported:PATH``
(a ``torch.export`` program, ``.pt2``) and ``onnx:PATH`` (through onnxruntime, an optional extra).

Each is a model like any other: it gets the sealed batch, on the run's device, in the run's batches (at
most ``batch=N`` images per call), and its output is validated and composited by the runner. What the
file expects is a convention of the spec (``conventions.py``). Before any work the file is loaded, its
format told from its bytes, and one probe batch (two images at the run's size) run through it, so a
file that does not load, takes other inputs, or returns the wrong shape or range is one line naming
the file and exit status 2, before the run's folder is written. run.json and the report state the
file's sha256, size and format, the convention, the precision and the device; every result row names
the file and its sha256. Nothing is downloaded: the user gives the file.
"""

from __future__ import annotations

import math
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..cache import sha256_file
from ..components import HOLE_VALUE, Batch, Model, PrepareContext
from ..errors import InpaintbenchError, one_line
from .conventions import Convention, range_hint, split_query

if TYPE_CHECKING:
    import torch

#: How far outside [0, 1] a probe output may stray (rounding) before it is a wrong ``out_range``.
PROBE_TOLERANCE = 1e-3
#: What ``sniff`` calls each format, and the spec that runs it.
FORMAT_SPECS = {
    "torchscript": "torchscript:PATH",
    "torch.export": "exported:PATH",
    "onnx": "onnx:PATH",
}


def sniff(path: Path) -> str:
    """The format of a model file from its bytes: torchscript, torch.export, state dict (``torch.save``
    of weights, which needs its model's code), onnx, or unknown."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any("/code/" in name for name in names):
            return "torchscript"
        if any(name.endswith(("/archive_format", "/models/model.json")) for name in names):
            return "torch.export"
        if any(name.endswith("/data.pkl") for name in names):
            return "state dict"
        return "unknown"
    with path.open("rb") as stream:
        head = stream.read(2)
    return "onnx" if head[:1] == b"\x08" else "unknown"  # protobuf field 1 (ir_version), a varint


def probe_batch(image_size: int, device: torch.device) -> Batch:
    """Two sealed images of smooth colour with a centre hole and a corner hole: what a real batch is."""
    import torch

    ramp = torch.linspace(0.1, 0.9, image_size)
    image = torch.stack([ramp[None, :].expand(image_size, -1), ramp[:, None].expand(-1, image_size),
                         torch.full((image_size, image_size), 0.5)])  # fmt: skip
    masks = torch.zeros(2, 1, image_size, image_size)
    quarter = image_size // 4
    masks[0, :, quarter : 3 * quarter, quarter : 3 * quarter] = 1
    masks[1, :, : 2 * quarter, : 2 * quarter] = 1
    images = torch.where(masks.bool(), torch.tensor(HOLE_VALUE), image.expand(2, -1, -1, -1))
    return Batch(images.to(device), masks.to(device), ("probe-0", "probe-1"), "center")


class ModelFile(Model):
    """A model file and its convention; subclasses open one format and call it."""

    format: ClassVar[str] = ""
    #: The spec's options after ``?`` (``list models -v``): the convention's, from ``conventions.OPTIONS``.
    argument = "PATH?KEY=VALUE&...: the model file, then its conventions (docs/models.md)"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        path, options = split_query(self.name, arg)
        self.path = Path(path).expanduser().absolute()
        self.convention = Convention.parse(self.spec, options)
        if not self.path.is_file():
            raise InpaintbenchError(f"model '{self.spec}': {self.path} is not a file")
        self._call: Callable[[list[torch.Tensor]], object] | None = None
        self._device: torch.device | None = None
        self.sha256 = ""
        self.runtime: dict[str, Any] = {}

    # -- loading ------------------------------------------------------------------------------------
    def check(self, device: torch.device, image_size: int) -> None:
        import torch

        self._load(device)
        probe = probe_batch(image_size, device)
        try:
            with torch.inference_mode():
                out = self.inpaint(probe)
        except InpaintbenchError:
            raise
        except Exception as exc:
            raise InpaintbenchError(
                f"{self.path}: the probe batch ({self._shapes(probe)}) failed in the model: {one_line(exc)}"
            ) from None
        lo, hi = (float(v) for v in out.aminmax())
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise InpaintbenchError(f"{self.path} returned NaN or infinite values on the probe batch")
        if lo < -PROBE_TOLERANCE or hi > 1 + PROBE_TOLERANCE:
            raise InpaintbenchError(
                f"{self.path}: its output mapped from out_range={_pair(self.convention.out_range)} is in "
                f"[{lo:.4g}, {hi:.4g}], not [0, 1]{range_hint(lo, hi, self.convention)}"
            )

    def prepare(self, ctx: PrepareContext) -> None:
        if self._call is None or self._device != ctx.device:
            self._load(ctx.device)

    def _load(self, device: torch.device) -> None:
        found = sniff(self.path)
        if found != self.format:
            other = FORMAT_SPECS.get(found)
            hint = f": run it as {other}" if other else ""
            if found == "state dict":
                hint = ": weights alone need their model's code; export the model (docs/models.md)"
            what = "of no model format known here" if found == "unknown" else f"a {found} file"
            raise InpaintbenchError(f"{self.path} is {what}, not {self.format}{hint}")
        self.sha256 = sha256_file(self.path)
        try:
            self._call = self.open(device)
        except InpaintbenchError:
            raise
        except Exception as exc:
            raise InpaintbenchError(f"{self.path} does not load as {self.format}: {one_line(exc)}") from None
        self._device = device

    def open(self, device: torch.device) -> Callable[[list[torch.Tensor]], object]:
        """Load the file for ``device``; returns what calls the model on its positional inputs."""
        raise NotImplementedError

    @property
    def dtype(self) -> torch.dtype:
        import torch

        return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[
            self.convention.precision
        ]

    # -- running ------------------------------------------------------------------------------------
    def inpaint(self, batch: Batch) -> torch.Tensor:
        import torch

        if self._call is None:
            raise InpaintbenchError(f"{self.spec} was not prepared")
        step = self.convention.batch or len(batch.image_ids)
        parts = []
        for start in range(0, len(batch.image_ids), step):
            images = batch.images[start : start + step]
            inputs = self.convention.inputs(images, batch.masks[start : start + step], self.input_dtype)
            parts.append(self.convention.output_of(self._call(inputs), images, str(self.path)))
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    @property
    def input_dtype(self) -> torch.dtype:
        """The dtype the model's inputs are handed in."""
        return self.dtype

    def _shapes(self, batch: Batch) -> str:
        inputs = self.convention.inputs(batch.images, batch.masks, self.input_dtype)
        return ", ".join(f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" for t in inputs)

    # -- what is recorded ---------------------------------------------------------------------------
    def source(self, regime: str) -> str:
        return f"{self.path} sha256:{self.sha256}"

    def provenance(self) -> dict[str, Any]:
        size = self.path.stat().st_size
        return {
            "file": str(self.path),
            "format": self.format,
            "sha256": self.sha256,
            "bytes": size,
            "convention": self.convention.stated(),
            "device": str(self._device),
            "runtime": self.runtime,
            "labels": [
                f"{self.format} file {self.path.name}, {size / 2**20:.1f} MiB, sha256 {self.sha256[:12]}"
            ],
        }


def _fits(given: list[tuple[int, ...]], expected: list[tuple[Any, ...]]) -> bool:
    """Whether inputs of shapes ``given`` fit a program exported for ``expected``: an int side is fixed,
    a symbolic one (``torch.export.Dim``) takes any size its guards allow."""
    return len(given) == len(expected) and all(
        len(shape) == len(wants)
        and all(not isinstance(w, int) or w == d for d, w in zip(shape, wants, strict=True))
        for shape, wants in zip(given, expected, strict=True)
    )


def _shown(shapes: Sequence[tuple[Any, ...]]) -> str:
    return ", ".join("(" + ", ".join(str(side) for side in shape) + ")" for shape in shapes)


def _pair(values: Sequence[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


def _quiet_load(load: Callable[[], Any]) -> Any:
    """torch 2.14 warns that TorchScript is deprecated on every load; released files are TorchScript."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        return load()


class TorchScriptModel(ModelFile):
    name = "torchscript"
    description = "a TorchScript model file (torch.jit.save), as LaMa's big-lama.pt ships"
    format = "torchscript"

    def open(self, device: torch.device) -> Callable[[list[torch.Tensor]], object]:
        import torch

        module = _quiet_load(lambda: torch.jit.load(str(self.path), map_location=device)).eval()
        module = _placed(module, self.dtype, self.convention.memory)
        self.runtime = {"torch": torch.__version__}
        return lambda inputs: module(*inputs)


class ExportedModel(ModelFile):
    name = "exported"
    description = "a torch.export program (.pt2, torch.export.save), the current torch format"
    format = "torch.export"

    def open(self, device: torch.device) -> Callable[[list[torch.Tensor]], object]:
        import torch

        program = torch.export.load(str(self.path))
        expected = [
            tuple(node.meta["val"].shape)
            for node in program.graph.nodes
            if node.op == "placeholder" and node.name in program.graph_signature.user_inputs
        ]
        module = _placed(program.module(), self.dtype, self.convention.memory, device)
        self.runtime = {"torch": torch.__version__, "inputs": _shown(expected)}

        def call(inputs: list[torch.Tensor]) -> object:
            given = [tuple(t.shape) for t in inputs]
            if not _fits(given, expected):
                raise InpaintbenchError(
                    f"{self.path} takes inputs {_shown(expected)}, the spec's call={self.convention.call} "
                    f"gives {_shown(given)} (export with dynamic shapes, torch.export.Dim, or set size= "
                    "and batch= to match)"
                )
            return module(*inputs)

        return call


class OnnxModel(ModelFile):
    name = "onnx"
    description = "an ONNX model file, run by onnxruntime (pip install inpaintbench[onnx])"
    format = "onnx"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        if self.convention.precision != "fp32" or self.convention.memory != "contiguous":
            raise InpaintbenchError(
                f"model '{self.spec}': precision and memory are options of torch formats; an ONNX file "
                "fixes its own input dtype"
            )

    def open(self, device: torch.device) -> Callable[[list[torch.Tensor]], object]:
        import torch

        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise InpaintbenchError(
                f"model '{self.name}' needs onnxruntime: pip install 'inpaintbench[onnx]' ({exc})"
            ) from None
        providers = self._providers(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # the run's evaluation threads
        session = ort.InferenceSession(str(self.path), sess_options=options, providers=providers)
        declared = session.get_inputs()
        types = {
            "tensor(float)": torch.float32,
            "tensor(float16)": torch.float16,
            "tensor(double)": torch.float64,
        }
        self._input_dtype = types.get(declared[0].type) if declared else None
        if self._input_dtype is None:
            raise InpaintbenchError(
                f"{self.path}: its first input is {declared[0].type if declared else 'missing'}, "
                "expected a float tensor"
            )
        names = [i.name for i in declared]
        self.runtime = {
            "onnxruntime": ort.__version__,
            "providers": session.get_providers(),
            "inputs": [f"{i.name} {i.shape} {i.type}" for i in declared],
        }

        def call(inputs: list[torch.Tensor]) -> object:
            if len(inputs) != len(names):
                raise InpaintbenchError(
                    f"{self.path} takes {len(names)} input(s) ({', '.join(self.runtime['inputs'])}), "
                    f"the spec's call={self.convention.call} gives {len(inputs)}"
                )
            feed = {name: t.detach().cpu().numpy() for name, t in zip(names, inputs, strict=True)}
            return torch.from_numpy(session.run(None, feed)[0])

        return call

    @property
    def input_dtype(self) -> torch.dtype:
        return getattr(self, "_input_dtype", None) or self.dtype

    @staticmethod
    def _providers(device: torch.device, available: list[str]) -> list[str]:
        if device.type == "cpu":
            return ["CPUExecutionProvider"]
        wanted = {"cuda": "CUDAExecutionProvider", "mps": "CoreMLExecutionProvider"}.get(device.type)
        if wanted not in available:
            raise InpaintbenchError(
                f"onnxruntime here has no {wanted or 'provider'} for --device {device} (it has "
                f"{', '.join(available)}): pip install onnxruntime-gpu, or run with --device cpu"
            )
        return [wanted, "CPUExecutionProvider"]


def _placed(module: Any, dtype: torch.dtype, memory: str, device: torch.device | None = None) -> Any:
    """The module in the convention's dtype and memory format (and on ``device`` when given)."""
    import torch

    if device is not None:
        module = module.to(device)
    if dtype != torch.float32:
        module = module.to(dtype)
    if memory == "channels_last":
        module = module.to(memory_format=torch.channels_last)
    return module
