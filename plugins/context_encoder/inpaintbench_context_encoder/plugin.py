"""The entry point: registers the Context Encoder model. Importing it must not import torch."""

from __future__ import annotations

from inpaintbench import hookimpl

from .model import ContextEncoder


@hookimpl
def register_models(register) -> None:
    register(ContextEncoder)
