"""The version of inpaintbench, recorded in every run.json, frozen set and report."""

__version__ = "0.1.0"
