"""The shape checks of files read back (``files/readback.py``): what they accept and how they say no."""

from __future__ import annotations

import pytest

from inpaintbench.errors import InpaintbenchError
from inpaintbench.files.readback import Each, mismatch, parse_json, read_json

SCHEMA = {"n": int, "x": (int, float), "names": [str], "runs": Each({"ok": bool}), "maybe": (str, type(None))}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({}, None),
        ({"n": 3, "x": 2.5, "names": ["a"], "runs": {"r": {"ok": True}}, "maybe": None, "other": [1]}, None),
        ([], "its content is [], not an object"),
        ({"n": True}, "n is true, not an integer"),  # a bool is not a number
        ({"x": float("nan")}, "x is NaN, not an integer or a number"),
        ({"names": ["a", 1]}, "names[1] is 1, not a string"),
        ({"runs": {"r": {"ok": 1}}}, "runs.r.ok is 1, not true or false"),
        ({"runs": []}, "runs is [], not an object"),
        ({"maybe": ["a" * 50]}, "maybe is a list, not a string or null"),
    ],
)
def test_mismatch_names_the_first_value_out_of_shape(value, expected):
    assert mismatch(value, SCHEMA) == expected


def test_deep_nesting_is_refused_without_recursion():
    with pytest.raises(ValueError, match="nests deeper than 64 levels"):
        parse_json("[" * 200_000 + "]" * 200_000, "f")
    with pytest.raises(ValueError, match="nests deeper than 64 levels"):
        parse_json("[" * 65 + "]" * 65, "f")
    assert parse_json("[" * 64 + "]" * 64, "f") is not None


def test_read_json_is_one_line_with_the_advice(tmp_path):
    path = tmp_path / "f.json"
    for content in (b"\xff\xfe", b"{", b'{"n": "3"}'):
        path.write_bytes(content)
        with pytest.raises(InpaintbenchError) as info:
            read_json(path, SCHEMA, "do this")
        assert str(path) in str(info.value) and str(info.value).endswith(": do this")
        assert "\n" not in str(info.value)
