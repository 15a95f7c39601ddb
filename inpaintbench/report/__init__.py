"""HTML reports rendered from one or several run folders (``inpaintbench report``)."""

from .render import render

__all__ = ["render"]
