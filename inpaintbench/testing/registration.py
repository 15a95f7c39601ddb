"""``check_registration``: what a plugin's hooks register is what the host will accept.

The host skips a class that breaks the contract with one warning line, which is easy to miss; here the
same rule (``contract_problem``) fails the plugin's own test instead. Names are also checked against
the built-ins, since a clash stops every command.
"""

from __future__ import annotations

import importlib

import pluggy

from .. import hookspecs
from ..plugins import BUILTIN_MODULES, HOOKS, contract_problem
from .report import ContractError


def _registered(plugin: object, name: str) -> tuple[dict[str, list[type]], list[tuple[str, str]]]:
    """Every class each hook of ``plugin`` registers, by kind, and what went wrong calling the hooks."""
    pm = pluggy.PluginManager("inpaintbench")
    pm.add_hookspecs(hookspecs)
    problems: list[tuple[str, str]] = []
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except Exception as exc:
        return {}, [("hooks", f"{type(exc).__name__}: {exc}")]
    classes: dict[str, list[type]] = {}
    for kind, hook_name in HOOKS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(register=classes.setdefault(kind, []).append)
            except Exception as exc:
                problems.append(("hooks", f"{hook_name} raised {type(exc).__name__}: {exc}"))
    return {kind: found for kind, found in classes.items() if found}, problems


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
    name = getattr(plugin, "__name__", type(plugin).__name__)
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
