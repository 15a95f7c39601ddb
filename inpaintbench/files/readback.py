"""Files a command reads back (run.json, a checkpoint pointer, a store's meta values), checked against the
shape their writer gives them before any of it is used.

Such a file may have been edited by hand, truncated or replaced: a value of another shape must be one line
naming the file and what to do, not an AttributeError deep inside whatever reads it first. A schema is a
type (or tuple of types), ``[schema]`` for a list of such items, ``{key: schema}`` for an object whose
listed keys, where present, have those shapes (other keys are left alone), or ``Each(schema)`` for an
object whose every value has one shape.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InpaintbenchError

#: The deepest nesting read back: the files written here nest a few levels, and a file of 200,000
#: brackets must be refused, not exhaust Python's recursion limit in the JSON decoder.
MAX_DEPTH = 64


@dataclass(frozen=True)
class Each:
    """An object whose every value has the shape ``values``."""

    values: Schema


Schema = type | tuple[type, ...] | list["Schema"] | dict[str, "Schema"] | Each
#: How a message names each JSON type.
_NAMES = {type(None): "null", str: "a string", int: "an integer", float: "a number", bool: "true or false",
          dict: "an object", list: "a list"}  # fmt: skip


def mismatch(value: Any, schema: Schema, where: str = "") -> str | None:
    """Where ``value`` departs from ``schema`` and how (``where``: the path to it, "" at the top), or None
    when it fits. A bool is not taken for a number, nor a number for a bool; a float must be finite."""
    if isinstance(schema, list):
        if not isinstance(value, list):
            return _wrong(value, where, "a list")
        found = (mismatch(item, schema[0], f"{where}[{k}]") for k, item in enumerate(value))
        return next(filter(None, found), None)
    if isinstance(schema, dict | Each):
        if not isinstance(value, dict):
            return _wrong(value, where, "an object")
        if isinstance(schema, Each):
            pairs = [(key, item, schema.values) for key, item in value.items()]
        else:
            pairs = [(key, value[key], inner) for key, inner in schema.items() if key in value]
        found = (mismatch(item, inner, f"{where}.{key}" if where else str(key)) for key, item, inner in pairs)
        return next(filter(None, found), None)
    types = schema if isinstance(schema, tuple) else (schema,)
    fits = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    if fits and isinstance(value, float) and not math.isfinite(value):
        fits = False
    return None if fits else _wrong(value, where, " or ".join(_NAMES.get(t, t.__name__) for t in types))


def _wrong(value: Any, where: str, expected: str) -> str:
    return f"{where or 'its content'} is {_shown(value)}, not {expected}"


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else _NAMES.get(type(value), type(value).__name__)


def parse_json(text: str | bytes, what: str) -> Any:
    """``text`` decoded as JSON, refusing nesting deeper than ``MAX_DEPTH``; ValueError (naming ``what``)
    for anything that is not JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} is not valid JSON ({exc})") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"{what} nests deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """How deeply ``value`` nests, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def read_json(path: Path, schema: Schema, advice: str) -> Any:
    """The JSON file at ``path``, checked against ``schema``; anything else is one ``InpaintbenchError``
    line naming the file, what is wrong and ``advice`` (what to do)."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise InpaintbenchError(f"{path} cannot be read ({exc.strerror}): {advice}") from None
    try:
        value = parse_json(text, str(path))
    except ValueError as exc:
        raise InpaintbenchError(f"{exc}: {advice}") from None
    found = mismatch(value, schema)
    if found:
        raise InpaintbenchError(f"{path} is not the file inpaintbench wrote ({found}): {advice}")
    return value
