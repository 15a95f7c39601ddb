"""Plugin discovery through real entry points (dist-info folders on sys.path)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import cli_env, cli_in_process

BUILTINS = {"inpaintbench.models", "inpaintbench.masks", "inpaintbench.metrics", "inpaintbench.datasets"}


def test_entry_point_plugin_is_discovered_with_version_and_components():
    result = cli_in_process("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert set(plugins) >= BUILTINS
    toy = plugins["toy"]
    assert toy["version"] == "1.2.3" and toy["builtin"] is False
    assert "toy_grey" in toy["registers"]["model"]
    assert toy["registers"]["mask"] == ["toy_corner"]
    assert toy["registers"]["metric"] == ["toy_mae"]
    assert "mean_fill" in plugins["inpaintbench.models"]["registers"]["model"]


def test_list_shows_names_with_descriptions():
    result = cli_in_process("list", "models")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert "Fills every hole with mid grey." in lines["toy_grey"]
    assert {"mean_fill", "biharmonic"} <= set(lines)


def test_broken_plugins_cost_one_warning_each_and_the_cli_works():
    result = cli_in_process("list", "models", plugins="toy,broken,hookfail")
    assert result.returncode == 0
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2, warnings
    assert "plugin 'broken' failed to load" in warnings[0] and "a_module_that_is_not_installed" in warnings[0]
    assert "plugin 'hookfail' failed in register_models" in warnings[1]
    assert "toy_grey" in result.stdout and "mean_fill" in result.stdout


def test_duplicate_names_are_an_error_naming_both_plugins():
    result = cli_in_process("list", "models", plugins="dup")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: model 'mean_fill' is registered by two plugins: 'inpaintbench.models' and 'dup'"
    )


def test_environment_variable_limits_third_party_plugins():
    names = {p["name"] for p in json.loads(cli_in_process("plugins", "--json", plugins="").stdout)}
    assert names == BUILTINS
    names = {p["name"] for p in json.loads(cli_in_process("plugins", "--json", plugins="toy").stdout)}
    assert names == BUILTINS | {"toy"}
    # Unfiltered, every entry point on the path loads, the clashing one included.
    assert "registered by two plugins" in cli_in_process("plugins", plugins=None).stderr


def test_unknown_component_is_a_one_line_error():
    result = cli_in_process("run", "--model", "no_such_model", "--masks", "center", "--limit", "1")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown model 'no_such_model' (known: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_listing_does_not_import_torch():
    code = (
        "import sys; from inpaintbench.cli import main\n"
        "for argv in (['plugins'], ['list', 'models'], ['list', 'metrics']): main(argv)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 0, result.stderr


def test_a_registry_of_given_plugins_in_process():
    """build_registry(plugins=[...]) registers plugin objects next to the built-ins, with no entry point and
    no process cache, and confines a broken one to a warning as for installed plugins."""
    import types

    from inpaintbench import Model, hookimpl
    from inpaintbench.plugins import build_registry, get_registry

    class Given(Model):
        name = "given_model"
        description = "registered by a plugin object"

    good = types.ModuleType("good_plugin")
    good.register_models = hookimpl(lambda register: register(Given))
    bad = types.ModuleType("bad_plugin")
    bad.register_masks = hookimpl(lambda register: 1 / 0)
    registry = build_registry(plugins=[good, bad])
    assert registry.names("model").count("given_model") == 1 and "mean_fill" in registry.names("model")
    assert registry.plugin_of("model", "given_model") == "good_plugin"
    assert any("'bad_plugin' failed in register_masks" in w for w in registry.warnings)
    assert "given_model" not in get_registry().names("model")
    assert "given_model" not in build_registry(plugins=[]).names("model")


def test_models_declare_their_own_flags():
    """Model.flags become flags of run and train (typed by the parser); one the host or another model
    has is skipped with a warning; a flag that sets no declared option is refused at registration."""
    import types

    from inpaintbench import Model, hookimpl
    from inpaintbench.cli import _model_options, build_parser, model_flags
    from inpaintbench.plugins import build_registry

    class Flagged(Model):
        name = "flagged"
        description = "declares --kernel and --out"
        options = {"kernel": "blur window", "out": "where"}
        flags = {"--kernel": ("kernel", int), "--out": ("out", str)}

    class Clashing(Model):
        name = "other_flagged"
        description = "declares --kernel for another option (after flagged, by name)"
        options = {"size": "a size"}
        flags = {"--kernel": ("size", str)}

    class Unknown(Model):
        name = "unknown_flag"
        description = "a flag for an option it does not declare"
        flags = {"--steps": ("steps", int)}

    plugin = types.ModuleType("flag_plugin")
    plugin.register_models = hookimpl(lambda register: [register(c) for c in (Flagged, Clashing, Unknown)])
    registry = build_registry(plugins=[plugin])
    assert "unknown_flag" not in registry.names("model")
    assert any(
        "flag '--steps' must be --lowercase and set one of its options" in w for w in registry.warnings
    )
    flags, skipped = model_flags(registry)
    assert flags["--kernel"][:2] == ("kernel", int)
    assert sorted(skipped) == [
        "model 'flagged' declares --out, which is already a flag; use --option out=...",
        "model 'other_flagged' declares --kernel, which is already a flag; use --option size=...",
    ]
    args = build_parser(registry).parse_args(
        ["run", "--model", "flagged", "--kernel", "5", "--option", "a=b"]
    )
    assert _model_options(args) == {"a": "b", "kernel": "5"}
    with pytest.raises(SystemExit):
        build_parser(registry).parse_args(["run", "--model", "flagged", "--kernel", "five"])
