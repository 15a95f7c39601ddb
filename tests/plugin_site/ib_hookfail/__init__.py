"""A plugin that imports but raises inside its hook."""

from inpaintbench import hookimpl


@hookimpl
def register_models(register):
    raise RuntimeError("this plugin is broken on purpose")
