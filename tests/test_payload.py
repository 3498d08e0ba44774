"""bridge/payload.py: the one walk that prepares a payload and quiets it, against the two walks it replaced, on every fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.filters import quiet
from bridge.payload import MAX_DEPTH, Items, Record, prepare, prepare_quieted, walk

FIXTURES = sorted(p for p in (Path(__file__).parent / "fixtures").rglob("*.json"))
# Odd shapes no vendor sends every day: signs in keys, nulls, control characters, depth, a lone surrogate.
ODD = {
    "@all": {"#tag": ["@nick", None, "fine", {"x": "\x1b[31m@here\x1b[0m"}], "n": 3, "f": 1.5},
    "line": "a\rb @@team\u202e",
    "deep": json.loads("[" * (MAX_DEPTH + 3) + "]" * (MAX_DEPTH + 3)),
    "list": [1, True, None, "mail@example.com", "#42", "\ud800"],
}


def shapes(value: object) -> object:
    """value with its Records and Items named, so equal data of another type tells."""
    if isinstance(value, dict):
        return (type(value).__name__, [(k, shapes(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value).__name__, [shapes(v) for v in value])
    return value


def payloads() -> list:
    found = [pytest.param(ODD, id="odd")]
    for path in FIXTURES:
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            found.append(pytest.param(data, id=str(path.relative_to(path.parents[1]))))
    return found


@pytest.mark.parametrize("payload", payloads())
def test_one_walk_gives_what_prepare_then_quiet_gave(payload):
    clean, shown = prepare_quieted(payload)
    prepared = prepare(payload)
    assert shapes(clean) == shapes(prepared)
    assert shapes(shown) == shapes(walk(prepared, quiet))


def test_the_quieted_copy_shares_what_quieting_leaves_alone():
    clean, shown = prepare_quieted({"repository": {"url": "https://example.com/a"}, "head_commit": {"message": "hi @all"}})
    assert shown["repository"] is clean["repository"]
    assert shown["head_commit"] is not clean["head_commit"]
    assert shown["head_commit"]["message"] == "hi @\u200ball" and clean["head_commit"]["message"] == "hi @all"
    plain = {"a": ["b", {"c": 1}]}
    clean, shown = prepare_quieted(plain)
    assert shown is clean and isinstance(shown, Record) and isinstance(shown["a"], Items)
