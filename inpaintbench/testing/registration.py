"""``check_registration``: what a plugin's hooks register is what the host will accept.

The host skips a class that breaks the contract with one warning line, which is easy to miss; here the
same rule (``contract_problem``) fails the plugin's own test instead. Names are also checked against
the built-ins, since a clash stops every command.
"""

from __future__ import annotations

import importlib

import pluggy

from .. import hookspecs
from ..plugins import BUILTIN_MODULES, call_hooks, contract_problem, plugin_name
from .report import ContractError


def _registered(plugin: object, name: str) -> tuple[dict[str, list[type]], list[tuple[str, str]]]:
    """Every class each hook of ``plugin`` registers, by kind, and what went wrong calling the hooks,
    called as the registry calls them (``call_hooks``) but on this plugin alone."""
    pm = pluggy.PluginManager("inpaintbench")
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except Exception as exc:
        return {}, [("hooks", f"{type(exc).__name__}: {exc}")]
    found, failed = call_hooks(pm)
    classes: dict[str, list[type]] = {}
    for _, kind, cls in found:
        classes.setdefault(kind, []).append(cls)
    problems = [("hooks", f"{hook_name} raised {type(exc).__name__}: {exc}") for _, hook_name, exc in failed]
    return classes, problems


def _builtin_names(plugin: object) -> set[tuple[str, str]]:
    """(kind, name) of every built-in component but those ``plugin`` registers, if it is a built-in."""
    names = set()
    for module in BUILTIN_MODULES:
        builtin = importlib.import_module(module)
        if builtin is plugin:
            continue
        classes, _ = _registered(builtin, module)
        names |= {(kind, cls.name) for kind, found in classes.items() for cls in found}
    return names


def check_registration(plugin: object) -> dict[str, list[str]]:
    """Call the hooks of ``plugin`` (the module or object an entry point names) with a collecting
    ``register``; raise ContractError if a hook is misspelt or raises, nothing is registered, or a
    class would be refused, lacks a description or clashes with another name. Returns the registered
    names by kind, for the test to compare with what the plugin means to offer."""
    name = plugin_name(plugin)
    classes, violations = _registered(plugin, name)
    builtins = _builtin_names(plugin)
    seen: set[tuple[str, str]] = set()
    for kind, found in classes.items():
        for cls in found:
            problem = contract_problem(kind, cls)
            if problem is not None:
                violations.append(("contract", problem))
                continue
            key = (kind, cls.name)
            if key in builtins:
                violations.append(("unique name", f"{kind} '{cls.name}' is the name of a built-in"))
            elif key in seen:
                violations.append(("unique name", f"{kind} '{cls.name}' is registered twice"))
            seen.add(key)
            if not cls.description:
                violations.append(
                    ("description", f"{kind} '{cls.name}' has no description (`inpaintbench list`)")
                )
    if not classes and not violations:
        violations.append(("registers", "the plugin's hooks register nothing"))
    if violations:
        raise ContractError(f"plugin '{name}'", violations)
    return {kind: [cls.name for cls in found] for kind, found in classes.items()}
