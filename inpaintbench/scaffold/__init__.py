"""``inpaintbench new plugin NAME``: a plugin distribution that installs, registers its components and
passes its contract tests exactly as written, for an author to edit from there.

The files are ``string.Template`` texts beside this module (``$package`` placeholders: neither the
Python nor the TOML they hold uses ``$`` otherwise). Nothing here imports torch.
"""

from __future__ import annotations

import keyword
import re
import sys
from importlib import resources
from pathlib import Path
from string import Template

from ..errors import InpaintbenchError

#: PEP 508's rule for a distribution name.
DISTRIBUTION_NAME = re.compile(r"[A-Z0-9]([A-Z0-9._-]*[A-Z0-9])?", re.IGNORECASE)
#: The longest name: it names the folder, the package and every component, each well below the 255
#: bytes a file system allows in one name.
MAX_NAME = 100
#: Package names that would shadow what the plugin itself imports, or its own tests folder.
RESERVED = {"inpaintbench", "tests", *sys.stdlib_module_names}
#: Template -> where it goes in the new distribution.
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "plugin.py.tmpl": "src/{package}/__init__.py",
    "test_contract.py.tmpl": "tests/test_contract.py",
}


def package_name(name: str) -> str:
    """The snake_case package (also the entry point's name and the components' prefix) for the
    distribution ``name``: ``My-Plugin`` gives ``my_plugin``."""
    if len(name) > MAX_NAME:
        raise InpaintbenchError(f"the plugin name is {len(name)} characters long: {MAX_NAME} at most")
    if not DISTRIBUTION_NAME.fullmatch(name):
        raise InpaintbenchError(
            f"'{name}' is not a distribution name: use letters, digits, '-', '_' and '.', "
            "beginning and ending with a letter or digit"
        )
    package = re.sub(r"[-_.]+", "_", name).lower()
    if not package.isidentifier():
        problem = "does not begin with a letter or '_'"
    elif keyword.iskeyword(package):
        problem = "is a Python keyword"
    elif package in RESERVED:
        problem = "would shadow the module of that name"
    else:
        return package
    raise InpaintbenchError(
        f"'{name}' gives the package name '{package}', which {problem}; choose another name"
    )


def create_plugin(name: str, out: Path) -> list[Path]:
    """Write the distribution ``name`` into ``out`` (new or empty); returns the files written."""
    package = package_name(name)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InpaintbenchError(f"{out} already exists and is not empty; choose another --out")
    values = {"distribution": name, "package": package, "folder": out.resolve().name}
    templates = resources.files(__package__)
    written = []
    for template, target in FILES.items():
        path = out / target.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(templates.joinpath(template).read_text()).substitute(values))
        written.append(path)
    return written
