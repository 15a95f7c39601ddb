"""A metric that does not say whether higher is better: the host must refuse to register it."""

import torch

from inpaintbench import Metric, hookimpl


class NoDirection(Metric):
    name = "nodirection_metric"
    description = "Declares no higher_is_better."

    def compute(self, pred, target, mask):
        return torch.zeros(len(pred))


class Fine(Metric):
    name = "nodirection_fine"
    description = "Declares its direction: registered."
    higher_is_better = False

    def compute(self, pred, target, mask):
        return torch.zeros(len(pred))


@hookimpl
def register_metrics(register):
    register(NoDirection)
    register(Fine)
