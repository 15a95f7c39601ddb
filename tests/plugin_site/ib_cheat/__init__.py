"""Plugins that try to cheat, installed as a real dist-info: each tries one door to the answer.

If the benchmark is sealed, every model here scores exactly what ``cheat_constant`` scores (the
hole filled with ``HOLE_VALUE``), and every broken metric or mask is named as the one at fault.
"""

import numpy as np
import torch

from inpaintbench import HOLE_VALUE, Dataset, MaskGenerator, Metric, Model, hookimpl
from inpaintbench.models.biharmonic import Biharmonic


class Constant(Model):
    name = "cheat_constant"
    description = "Honest: fills the hole with HOLE_VALUE, the score every cheat below must get."

    def inpaint(self, batch):
        return torch.where(batch.masks.bool(), torch.full_like(batch.images, HOLE_VALUE), batch.images)


class Identity(Model):
    name = "cheat_identity"
    description = "Returns its input: scores 100 dB if the input still holds the hidden pixels."

    def inpaint(self, batch):
        return batch.images


class InPlace(Model):
    name = "cheat_inplace"
    description = "Clears its masks in place, so a host compositing with them would keep the original."

    def inpaint(self, batch):
        batch.masks.zero_()
        return batch.images


class Peek(Model):
    name = "cheat_peek"
    description = "Looks behind its input tensor: a view's base or a larger storage would hold the target."

    def inpaint(self, batch):
        images = batch.images
        base = images._base
        if base is not None and base.numel() >= images.numel():
            return base.reshape(-1)[: images.numel()].reshape(images.shape).clone()
        storage = images.untyped_storage()
        if storage.nbytes() > images.numel() * images.element_size():
            return torch.empty(0)  # would read past the view here; fails loudly instead
        return images


def _key(image: np.ndarray, known: np.ndarray) -> bytes:
    """The known pixels of an image, as bytes: equal keys mean the same image under that mask."""
    return np.round(image[known] * 255).astype(np.uint8).tobytes()


def _decoded(source, split, size):
    return [s.image for s in source.samples(split, size)]


def _undecoded(source, split, size):
    return [entry.read().image for entry in source.lazy_samples(split, size) or []]


class Memorise(Model):
    name = "cheat_memorise"
    description = "Reads every image prepare can reach and looks the test images up by their known pixels."

    def prepare(self, ctx):
        self.seen = []
        split_view = ctx.train_dataset
        sources = [getattr(ctx, "dataset", None), getattr(ctx, "eval_dataset", None), split_view]
        sources.append(getattr(split_view, "dataset", None))  # the raw dataset would give any split
        for source in filter(None, sources):
            for split in ("test", "val", "validation", "train"):
                for read in (_decoded, _undecoded):
                    try:
                        self.seen += read(source, split, ctx.image_size)
                    except Exception:  # a refused split or a missing door: try the next one
                        continue

    def inpaint(self, batch):
        out = batch.images.clone()
        known = (batch.masks[:, 0] < 0.5).cpu().numpy()
        inputs = batch.images.permute(0, 2, 3, 1).cpu().numpy()
        for k in range(len(out)):
            wanted = _key(inputs[k], known[k])
            for image in self.seen:
                if image.shape == inputs[k].shape and _key(image, known[k]) == wanted:
                    out[k] = torch.from_numpy(image).permute(2, 0, 1)
        return out


class Trainer(Model):
    name = "honest_trainer"
    description = (
        "Honest: reads its training split in prepare, as any trained model does, then fills the mean."
    )

    def prepare(self, ctx):
        self.fill = float(
            np.mean([s.image.mean() for s in ctx.train_dataset.samples("train", ctx.image_size)])
        )

    def inpaint(self, batch):
        return torch.full_like(batch.images, self.fill)


class HalfWay(Model):
    name = "cheat_halfway"
    description = "Biharmonic for its first batch, then it crashes: partial, with a flattering mean."

    def __init__(self, arg=None):
        super().__init__(arg)
        self.calls = 0
        self.inner = Biharmonic()

    def inpaint(self, batch):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("out of memory, say")
        return self.inner.inpaint(batch)


class GlobalRandom(MaskGenerator):
    name = "cheat_global_random"
    description = "Ignores its rng and uses np.random: masks differ between runs."

    def generate(self, rng, height, width):
        return np.random.random((height, width)) < 0.25


class Soft(MaskGenerator):
    name = "cheat_soft"
    description = "A soft mask (0.3 everywhere): not binary."

    def generate(self, rng, height, width):
        return np.full((height, width), 0.3)


class Column(Metric):
    name = "cheat_column"
    description = "Returns shape (N, 1) instead of (N,)."
    higher_is_better = True

    def compute(self, pred, target, mask):
        return (pred - target).abs().flatten(1).mean(1, keepdim=True)


class Scalar(Metric):
    name = "cheat_scalar"
    description = "Returns one 0-d value for the whole batch."
    higher_is_better = False

    def compute(self, pred, target, mask):
        return (pred - target).abs().mean()


class EditsTarget(Metric):
    name = "cheat_edits_target"
    description = (
        "Copies the prediction into the target in place, so later metrics would see a perfect score."
    )
    higher_is_better = False

    def compute(self, pred, target, mask):
        target.copy_(pred)
        return torch.zeros(len(pred))


@hookimpl
def register_models(register):
    for cls in (Constant, Identity, InPlace, Peek, Memorise, Trainer, HalfWay):
        register(cls)


@hookimpl
def register_masks(register):
    register(GlobalRandom)
    register(Soft)


@hookimpl
def register_metrics(register):
    for cls in (Column, Scalar, EditsTarget):
        register(cls)


class Crashes(Dataset):
    name = "cheat_crashing_dataset"
    description = "A dataset with a bug: reading it raises ZeroDivisionError."

    def samples(self, split, image_size):
        yield from ()
        raise ZeroDivisionError("a bug in a plugin")


@hookimpl
def register_datasets(register):
    register(Crashes)
