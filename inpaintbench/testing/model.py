"""``check_model``: a prepared model run exactly as the runner runs it, and what it must guarantee.

Every call goes through ``inpaint_sealed`` (seal, model, validate, composite) inside inference mode, so
what is checked is what would be scored. The comparisons (equal calls, altered holes, one image alone)
need a deterministic model, so they are judged only once two equal calls agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..components import HOLE_VALUE, Batch, Model
from ..masks.draw import draw_masks
from ..plugins import get_registry
from ..runner.model.outputs import output_problems
from ..runner.model.sealed import inpaint_sealed
from .inputs import DEFAULT_IMAGE_SIZE, DEFAULT_REGIMES, as_tensors, photo_crops
from .report import Report

#: Default slack between an image inpainted alone and inside a batch: a batch of one can run other
#: kernels (oneDNN picks convolution algorithms by batch size), whose float rounding differs by ~1e-7.
#: Far below one 8-bit level (4e-3), far above nothing for a model that mixes images.
BATCH_ATOL = 1e-5


class _Recorder(Model):
    """Hands each batch to the model under test and keeps it, a copy of it as it arrived (a model may
    edit its batch), and what the model returned."""

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model
        self.batch: Batch | None = None
        self.arrived: Batch | None = None
        self.output: object = None
        self.returned = False

    def inpaint(self, batch: Batch) -> torch.Tensor:
        self.batch = batch
        self.arrived = Batch(batch.images.clone(), batch.masks.clone(), batch.image_ids, batch.regime)
        self.output = self.model.inpaint(batch)
        self.returned = True
        return self.output  # type: ignore[return-value]  # validated by inpaint_sealed


def _difference(a: torch.Tensor, b: torch.Tensor, atol: float) -> str | None:
    """None when ``a`` equals ``b`` (bit for bit at ``atol`` 0), else how far apart they are."""
    if torch.equal(a, b):
        return None
    diff = (a.float() - b.float()).abs().max().item()
    return None if diff <= atol else f"max |difference| {diff:.3g} (atol {atol:g})"


class _Case:
    """One regime's batch of photos and drawn masks, scored once; each clause is judged against it."""

    def __init__(
        self,
        model: Model,
        regime: str,
        image_size: int,
        batch_size: int,
        device: torch.device,
        seed: int,
        atol: float,
        batch_atol: float,
    ) -> None:
        crops = photo_crops(image_size, batch_size)
        self.model, self.regime, self.atol, self.batch_atol = model, regime, atol, max(atol, batch_atol)
        self.ids = [c.image_id for c in crops]
        masks = draw_masks(get_registry().get("mask", regime), regime, seed, self.ids, image_size)
        self.target, self.holes = as_tensors([c.image for c in crops], list(masks.values()), device)
        self.originals = self.target.clone(), self.holes.clone()
        self.hole = self.holes.bool().expand_as(self.target)
        self.first = _Recorder(model)
        self.pred: torch.Tensor | None = None

    def score(self, target: torch.Tensor, holes: torch.Tensor, ids: Sequence[str]) -> torch.Tensor:
        with torch.inference_mode():
            return inpaint_sealed(self.model, target, holes, ids, self.regime)

    def score_first(self) -> None:
        """The call every clause refers to, through a recorder that keeps the batch and raw output."""
        with torch.inference_mode():
            self.pred = inpaint_sealed(self.first, self.target, self.holes, self.ids, self.regime)

    def batch_contents(self) -> str | None:
        batch = self.first.arrived
        if batch.image_ids != tuple(self.ids) or batch.regime != self.regime:
            return f"the batch carried ids {batch.image_ids} and regime {batch.regime!r}"
        if not (batch.images[self.hole] == HOLE_VALUE).all() or not torch.equal(batch.masks, self.holes):
            return "the batch's hole pixels are not sealed, or its masks are not the drawn ones"
        return None

    def composite(self) -> str | None:
        known = ~self.hole
        if torch.equal(self.pred[known], self.target[known]):
            return None
        return "the scored prediction differs from the original outside the hole"

    def host_copies(self) -> str | None:
        """Whatever the model did to its batch, during the call or (holding on to it) afterwards, the
        runner's images and the scored prediction stay as they were."""
        if not (torch.equal(self.target, self.originals[0]) and torch.equal(self.holes, self.originals[1])):
            return "the runner's images or masks changed during the call"
        kept = self.pred.clone()
        with torch.inference_mode():
            self.first.batch.images.fill_(0.5)
            self.first.batch.masks.fill_(0.0)
        if not torch.equal(self.pred, kept):
            return "editing the model's batch after the call changed the scored prediction"
        return None

    def deterministic(self) -> str | None:
        again = self.score(self.originals[0].clone(), self.originals[1].clone(), self.ids)
        differs = _difference(again, self.pred, self.atol)
        if differs is None:
            return None
        return (
            f"two calls on equal batches differ: {differs}; hidden pixels and batch independence not judged"
        )

    def hidden_pixels(self) -> str | None:
        with torch.inference_mode():
            other = torch.where(self.hole, 1.0 - self.originals[0], self.originals[0])
        differs = _difference(self.score(other, self.originals[1].clone(), self.ids), self.pred, self.atol)
        if differs is None:
            return None
        return f"changing only the hidden pixels changed the scored prediction: {differs}"

    def batch_independence(self) -> str | None:
        for i, image_id in enumerate(self.ids):
            one = slice(i, i + 1)
            alone = self.score(self.originals[0][one].clone(), self.originals[1][one].clone(), [image_id])
            differs = _difference(alone, self.pred[one], self.batch_atol)
            if differs is not None:
                return (
                    f"'{image_id}' inpainted alone differs from inside a batch of {len(self.ids)}: {differs}"
                )
        return None


def _check_regime(report: Report, case: _Case) -> None:
    where = f"[{case.regime}] "
    try:
        case.score_first()
    except Exception as exc:
        if not case.first.returned:
            report.fail("inpaint runs", f"{where}raised {type(exc).__name__}: {exc}")
            return
    for clause, detail in output_problems(case.first.output, case.first.arrived.images):
        report.fail(clause, where + detail)
    if case.pred is None:  # the host refused the output: the problems above say why
        return
    report.judge("batch contents", case.batch_contents, where)
    report.judge("composite", case.composite, where)
    report.judge("host copies", case.host_copies, where)
    if report.judge("deterministic", case.deterministic, where):
        report.judge("hidden pixels", case.hidden_pixels, where)
        report.judge("batch independence", case.batch_independence, where)


def check_model(
    model: Model,
    *,
    image_size: int = DEFAULT_IMAGE_SIZE,
    batch_size: int = 3,
    regimes: Sequence[str] = DEFAULT_REGIMES,
    device: str | torch.device = "cpu",
    seed: int = 0,
    atol: float = 0.0,
    batch_atol: float = BATCH_ATOL,
) -> None:
    """Check a prepared model under each mask regime (specs of registered generators); raise
    ContractError listing every violated clause. ``atol`` > 0 relaxes the bit-for-bit comparisons of
    equal calls, for devices whose kernels are not deterministic; ``batch_atol`` is the slack between an
    image inpainted alone and inside the batch."""
    report = Report(model)
    device = torch.device(device)
    for regime in regimes:
        case = _Case(model, regime, image_size, batch_size, device, seed, atol, batch_atol)
        _check_regime(report, case)
    report.raise_if_any()
