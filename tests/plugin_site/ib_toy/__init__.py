"""A third-party plugin as an outsider would write it, installed as a real dist-info on sys.path."""

import time

import numpy as np

from inpaintbench import MaskGenerator, Metric, Model, hookimpl


class Grey(Model):
    name = "toy_grey"
    description = "Fills every hole with mid grey."

    def inpaint(self, batch):
        return batch.images * 0 + 0.5


class Slow(Model):
    name = "toy_slow"
    description = "Mid grey, slowly: gives tests time to kill a run."

    def inpaint(self, batch):
        time.sleep(0.15)
        return batch.images * 0 + 0.5


class NaNModel(Model):
    name = "toy_nan"
    description = "Returns NaN: the runner must reject it."

    def inpaint(self, batch):
        return batch.images * float("nan")


class WrongShape(Model):
    name = "toy_shape"
    description = "Returns half-size images: the runner must reject it."

    def inpaint(self, batch):
        return batch.images[..., ::2, ::2]


class BrokenPrepare(Model):
    name = "toy_unprepared"
    description = "Raises while preparing."

    def prepare(self, ctx):
        raise RuntimeError("no weights for this toy")


class Corner(MaskGenerator):
    name = "toy_corner"
    description = "The top-left quarter, or a size given as toy_corner:N."
    argument = "N, the side of the square hole"

    def generate(self, rng, height, width):
        side = int(self.arg) if self.arg else height // 2
        mask = np.zeros((height, width), bool)
        mask[:side, :side] = True
        return mask


class MeanAbs(Metric):
    name = "toy_mae"
    description = "Mean absolute error over the whole image."
    higher_is_better = False

    def compute(self, pred, target, mask):
        return (pred - target).abs().flatten(1).mean(1)


@hookimpl
def register_models(register):
    for cls in (Grey, Slow, NaNModel, WrongShape, BrokenPrepare):
        register(cls)


@hookimpl
def register_masks(register):
    register(Corner)


@hookimpl
def register_metrics(register):
    register(MeanAbs)
