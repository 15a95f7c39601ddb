"""Loading plugins and building the registry of components.

Built-in components register through the same hooks as third-party plugins. Each entry point is
loaded on its own, so one plugin that fails to import or raises in a hook costs one warning line and
nothing else. ``INPAINTBENCH_PLUGINS`` (comma-separated entry-point names; empty for none) limits
which third-party plugins load.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .components import KINDS, Component
from .errors import InpaintbenchError

ENTRY_POINT_GROUP = "inpaintbench"
ENV_VAR = "INPAINTBENCH_PLUGINS"
BUILTIN_MODULES = (
    "inpaintbench.models",
    "inpaintbench.masks",
    "inpaintbench.metrics",
    "inpaintbench.datasets",
)
HOOKS = {
    "model": "register_models",
    "mask": "register_masks",
    "metric": "register_metrics",
    "dataset": "register_datasets",
}


@dataclass
class PluginInfo:
    name: str
    version: str
    builtin: bool
    registers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Registry:
    """Every loaded component by kind and name, plus what went wrong while loading."""

    components: dict[str, dict[str, type[Component]]]
    plugins: list[PluginInfo]
    warnings: list[str]

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def get(self, kind: str, spec: str) -> Component:
        """Instantiate the component the user named; ``name:arg`` passes ``arg`` to it."""
        name, _, arg = spec.partition(":")
        cls = self.components[kind].get(name)
        if cls is None:
            known = ", ".join(self.names(kind)) or "none"
            raise InpaintbenchError(f"unknown {kind} '{name}' (known: {known})")
        try:
            return cls(arg or None)
        except InpaintbenchError:
            raise
        except Exception as exc:  # a plugin's constructor must not take the CLI down
            raise InpaintbenchError(f"{kind} '{spec}' could not be created: {exc}") from exc

    def plugin_versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.plugins}


def _entry_points() -> list[metadata.EntryPoint]:
    eps = metadata.entry_points(group=ENTRY_POINT_GROUP)
    allowed = os.environ.get(ENV_VAR)
    if allowed is not None:
        wanted = {n.strip() for n in allowed.split(",") if n.strip()}
        eps = [ep for ep in eps if ep.name in wanted]
    return sorted(eps, key=lambda ep: ep.name)


def _version(ep: metadata.EntryPoint) -> str:
    return ep.dist.version if ep.dist is not None else "unknown"


def load_plugins() -> tuple[pluggy.PluginManager, list[PluginInfo], list[str]]:
    """Register the built-ins and each allowed entry point, collecting warnings instead of failing."""
    pm = pluggy.PluginManager("inpaintbench")
    pm.add_hookspecs(hookspecs)
    from . import __version__

    infos: list[PluginInfo] = []
    for module_name in BUILTIN_MODULES:
        pm.register(importlib.import_module(module_name), name=module_name)
        infos.append(PluginInfo(module_name, __version__, builtin=True))
    warnings: list[str] = []
    for ep in _entry_points():
        try:
            pm.register(ep.load(), name=ep.name)
            pm.check_pending()  # rejects misspelled hook names
        except Exception as exc:
            if pm.has_plugin(ep.name):
                pm.unregister(name=ep.name)
            warnings.append(f"plugin '{ep.name}' failed to load and was skipped: {type(exc).__name__}: {exc}")
            continue
        infos.append(PluginInfo(ep.name, _version(ep), builtin=False))
    return pm, infos, warnings


def build_registry() -> Registry:
    """Call every plugin's hooks one plugin at a time, so a failure is confined to that plugin."""
    pm, infos, warnings = load_plugins()
    by_name = {info.name: info for info in infos}
    components: dict[str, dict[str, type[Component]]] = {kind: {} for kind in HOOKS}
    owners: dict[tuple[str, str], str] = {}
    for kind, hook_name in HOOKS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name
            collected: list[type[Component]] = []
            try:
                impl.function(register=_collector(kind, plugin_name, collected))
            except Exception as exc:
                warnings.append(
                    f"plugin '{plugin_name}' failed in {hook_name} and was skipped: "
                    f"{type(exc).__name__}: {exc}"
                )
                continue
            for cls in collected:
                key = (kind, cls.name)
                if key in owners:
                    raise InpaintbenchError(
                        f"{kind} '{cls.name}' is registered by two plugins: "
                        f"'{owners[key]}' and '{plugin_name}'"
                    )
                owners[key] = plugin_name
                components[kind][cls.name] = cls
                by_name[plugin_name].registers.setdefault(kind, []).append(cls.name)
    return Registry(components, infos, warnings)


def _collector(kind: str, plugin_name: str, out: list[type[Component]]) -> Any:
    base = KINDS[kind]

    def register(cls: type[Component]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, base)) or not cls.name:
            raise TypeError(
                f"{plugin_name} registered {cls!r}, which is not a named {base.__name__} subclass"
            )
        out.append(cls)

    return register


@cache
def get_registry() -> Registry:
    """The registry for this process; warnings are printed once, to stderr."""
    registry = build_registry()
    for line in registry.warnings:
        print(f"warning: {line}", file=sys.stderr)
    return registry
