"""A plugin that registers a name a built-in already uses."""

from inpaintbench import Model, hookimpl


class AnotherMeanFill(Model):
    name = "mean_fill"
    description = "Clashes with the built-in mean_fill."


@hookimpl
def register_models(register):
    register(AnotherMeanFill)
