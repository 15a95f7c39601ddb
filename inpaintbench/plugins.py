"""Loading plugins and building the registry of components.

Built-in components register through the same hooks as third-party plugins. Each entry point is
loaded on its own, so one plugin that fails to import or raises in a hook costs one warning line and
nothing else; so does a component that breaks the contract at registration (no name, not a subclass
of its kind's base class, a metric without ``higher_is_better``). ``INPAINTBENCH_PLUGINS``
(comma-separated entry-point names; empty for none) limits which third-party plugins load; a name
that matches no entry point is a warning.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata

import pluggy

from . import hookspecs
from .components import KINDS, Component
from .errors import InpaintbenchError, warn

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
    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        return sorted(self.components[kind])

    def get(self, kind: str, spec: str) -> Component:
        """Instantiate the component the user named; ``name:arg`` passes ``arg`` to it."""
        name, sep, arg = spec.partition(":")
        cls = self.components[kind].get(name)
        if cls is None:
            known = ", ".join(self.names(kind)) or "none"
            raise InpaintbenchError(f"unknown {kind} '{name}' (known: {known})")
        if sep and cls.argument is None:
            raise InpaintbenchError(
                f"{kind} '{name}' takes no argument, so '{spec}' is refused; write '{name}'"
            )
        try:
            return cls(arg if sep else None)
        except InpaintbenchError:
            raise
        except Exception as exc:  # a plugin's constructor must not take the CLI down
            raise InpaintbenchError(f"{kind} '{spec}' could not be created: {exc}") from exc

    def split(self, kind: str, text: str) -> list[str]:
        """Comma-separated specs. Options after a spec's ``?`` may hold commas (``range=-1,1``): a piece
        after one joins that spec unless it starts with a registered name of ``kind``."""
        specs: list[str] = []
        for piece in (part.strip() for part in text.split(",")):
            if not piece:
                continue
            if specs and "?" in specs[-1] and piece.partition(":")[0] not in self.components[kind]:
                specs[-1] += "," + piece
            else:
                specs.append(piece)
        return specs

    def plugin_versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.plugins}

    def plugin_of(self, kind: str, name: str) -> str:
        """The plugin (entry-point name, or built-in module) that registered a component."""
        return self.owners.get((kind, name), "")


def _entry_points(warnings: list[str]) -> list[metadata.EntryPoint]:
    """The entry points to load; ``INPAINTBENCH_PLUGINS`` names entry points (the text before ``=`` in
    a plugin's ``[project.entry-points.inpaintbench]``), not distributions."""
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    allowed = os.environ.get(ENV_VAR)
    if allowed is not None:
        wanted = {n.strip() for n in allowed.split(",") if n.strip()}
        for name in sorted(wanted - {ep.name for ep in eps}):
            warnings.append(f"{ENV_VAR} names '{name}', which no installed plugin's entry point is called")
        eps = [ep for ep in eps if ep.name in wanted]
    return sorted(eps, key=lambda ep: ep.name)


def plugin_name(plugin: object) -> str:
    """What a plugin object given directly (not through an entry point) is called: its module name."""
    return getattr(plugin, "__name__", type(plugin).__name__)


def _version(ep: metadata.EntryPoint) -> str:
    return ep.dist.version if ep.dist is not None else "unknown"


def load_plugins(
    plugins: Sequence[object] | None = None,
) -> tuple[pluggy.PluginManager, list[PluginInfo], list[str]]:
    """Register the built-ins and each allowed entry point, collecting warnings instead of failing.
    ``plugins`` (modules or objects with hooks) replaces the entry points, so a test varies the
    plugins of one process without installing anything."""
    pm = pluggy.PluginManager("inpaintbench")
    pm.add_hookspecs(hookspecs)
    from .version import __version__

    infos: list[PluginInfo] = []
    for module_name in BUILTIN_MODULES:
        pm.register(importlib.import_module(module_name), name=module_name)
        infos.append(PluginInfo(module_name, __version__, builtin=True))
    warnings: list[str] = []
    if plugins is None:
        given = [(ep.name, ep.load, _version(ep)) for ep in _entry_points(warnings)]
    else:
        given = [(plugin_name(p), lambda p=p: p, getattr(p, "__version__", "unknown")) for p in plugins]
    for name, load, version in given:
        try:
            pm.register(load(), name=name)
            pm.check_pending()  # rejects misspelled hook names
        except Exception as exc:
            if pm.has_plugin(name):
                pm.unregister(name=name)
            warnings.append(f"plugin '{name}' failed to load and was skipped: {type(exc).__name__}: {exc}")
            continue
        infos.append(PluginInfo(name, version, builtin=False))
    return pm, infos, warnings


def call_hooks(
    pm: pluggy.PluginManager,
) -> tuple[list[tuple[str, str, type[Component]]], list[tuple[str, str, Exception]]]:
    """Every class each plugin's hooks register, as (plugin, kind, class) in hook order, and each hook
    that raised, as (plugin, hook name, exception): the classes of a hook that raised are dropped, and
    nothing else is. The registry and the kit's ``check_registration`` both call the hooks here."""
    found: list[tuple[str, str, type[Component]]] = []
    failed: list[tuple[str, str, Exception]] = []
    for kind, hook_name in HOOKS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            collected: list[type[Component]] = []
            try:
                impl.function(register=collected.append)
            except Exception as exc:
                failed.append((impl.plugin_name, hook_name, exc))
                continue
            found.extend((impl.plugin_name, kind, cls) for cls in collected)
    return found, failed


def build_registry(plugins: Sequence[object] | None = None) -> Registry:
    """Call every plugin's hooks one plugin at a time, so a failure is confined to that plugin; a class
    that breaks the contract is skipped with one warning. ``plugins``: as for ``load_plugins``."""
    pm, infos, warnings = load_plugins(plugins)
    by_name = {info.name: info for info in infos}
    components: dict[str, dict[str, type[Component]]] = {kind: {} for kind in HOOKS}
    owners: dict[tuple[str, str], str] = {}
    found, failed = call_hooks(pm)
    for plugin_name, hook_name, exc in failed:
        warnings.append(
            f"plugin '{plugin_name}' failed in {hook_name} and was skipped: {type(exc).__name__}: {exc}"
        )
    for plugin_name, kind, cls in found:
        problem = contract_problem(kind, cls)
        if problem is not None:
            warnings.append(f"plugin '{plugin_name}': {problem}; skipped")
            continue
        key = (kind, cls.name)
        if key in owners:
            raise InpaintbenchError(
                f"{kind} '{cls.name}' is registered by two plugins: '{owners[key]}' and '{plugin_name}'"
            )
        owners[key] = plugin_name
        components[kind][cls.name] = cls
        by_name[plugin_name].registers.setdefault(kind, []).append(cls.name)
    return Registry(components, infos, warnings, owners)


def contract_problem(kind: str, cls: object) -> str | None:
    """Why ``cls`` cannot be registered as a ``kind`` component, or None when it can."""
    base = KINDS[kind]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        return f"{cls!r} is not a subclass of inpaintbench.{base.__name__}"
    if not cls.name or ":" in cls.name or "," in cls.name:
        return f"{cls.__name__} needs a name without ':' or ',' (got {cls.name!r})"
    if kind == "metric" and not isinstance(getattr(cls, "higher_is_better", None), bool):
        return f"metric '{cls.name}' must declare higher_is_better = True or False"
    if kind == "model":
        for flag, declared in cls.flags.items():  # type: ignore[attr-defined]
            key, kind_of = declared if isinstance(declared, tuple) and len(declared) == 2 else (None, None)
            if not re.fullmatch(r"--[a-z][a-z0-9-]*", str(flag)) or key not in cls.options:  # type: ignore[attr-defined]
                return f"model '{cls.name}': flag {flag!r} must be --lowercase and set one of its options"
            if kind_of not in (str, int, float):
                return f"model '{cls.name}': flag {flag} must take str, int or float"
    return None


#: Registries put in place of the process's own by ``using`` (innermost last), each built when first
#: asked for.
_installed: list[Callable[[], Registry]] = []


def get_registry() -> Registry:
    """The registry for this process (or the one ``using`` put in place); warnings are printed once,
    to stderr."""
    return _installed[-1]() if _installed else _process_registry()


@cache
def _process_registry() -> Registry:
    return _announced(build_registry())


def _announced(registry: Registry) -> Registry:
    for line in registry.warnings:
        warn(line)
    return registry


@contextmanager
def using(plugins: Sequence[object] | None) -> Iterator[None]:
    """A registry built afresh for the block: from ``plugins`` (``build_registry``), or with None from
    the entry points as the environment allows now. The kit's in-process CLI runs commands in it, so
    one test process varies its plugins the way separate processes would. It is built when first asked
    for, so a registry that cannot be built fails inside the command, as it would in a process."""
    _installed.append(cache(lambda: _announced(build_registry(plugins))))
    try:
        yield
    finally:
        _installed.pop()
