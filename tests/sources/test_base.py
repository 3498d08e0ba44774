"""What every source shares: parsing a JSON body, and refusing one nested too deeply to render."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import offline_services
from bridge.config import parse_config
from bridge.preview import preview
from bridge.sources.base import MAX_DEPTH, Rejected, loads, nesting_depth, parse_json_body
from tests.support import FIXTURES, fixture_payload, one_route

TOO_DEEP = f"body nests objects and lists more than {MAX_DEPTH} levels deep"


def nested(depth: int) -> bytes:
    """A JSON object holding lists nested so that the whole body is `depth` levels deep."""
    return b'{"x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(
    "value, depth",
    [({}, 1), ({"a": 1}, 1), ({"a": []}, 2), ({"a": [{"b": [1]}]}, 4), ([[], [[[]]]], 4), ("text", 0), (json.loads(nested(50)), 50)],
)
def test_nesting_depth_counts_objects_and_lists(value, depth):
    assert nesting_depth(value) == depth


def test_nesting_depth_stops_counting_past_the_limit():
    assert nesting_depth(json.loads(nested(900)), stop_after=10) == 11


def test_a_body_nested_to_the_limit_is_parsed():
    assert nesting_depth(parse_json_body("application/json", nested(MAX_DEPTH))) == MAX_DEPTH


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 700, 1_000, 200_000])
def test_a_body_nested_deeper_is_refused_with_400(depth):
    with pytest.raises(Rejected) as refused:
        parse_json_body("application/json", nested(depth))
    assert (refused.value.status, refused.value.message) == (400, TOO_DEEP)


def test_a_form_body_nested_too_deeply_is_refused_too():
    from urllib.parse import urlencode

    with pytest.raises(Rejected) as refused:
        parse_json_body("application/x-www-form-urlencoded", urlencode({"payload": nested(5_000).decode()}).encode(), form_field="payload")
    assert refused.value.status == 400


def test_the_limit_is_far_above_real_payloads_and_below_what_rendering_survives():
    """A real push with a branch of extra data as deep as the limit still renders: the worker would not fail on it."""
    services = offline_services(parse_config(one_route("{source: github, secret: s, targets: [chat]}")))
    payload = {**fixture_payload("github", "push__many_commits"), "extra": json.loads(nested(MAX_DEPTH - 1))}
    assert nesting_depth(payload) == MAX_DEPTH
    [request] = preview(services, "r", "push", payload)["requests"]
    assert request["body"]["content"] == (FIXTURES / "github" / "push__many_commits.txt").read_text().rstrip("\n")


def same(a, b) -> bool:
    """Equal values of equal types all the way down (1 and 1.0 differ; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and a != a else a == b


@pytest.mark.parametrize(
    "text",
    [
        b'{"id": 123456789012345678901234567890, "n": -9223372036854775809, "m": 18446744073709551616}',
        b'{"a": NaN, "b": Infinity, "c": 1E400}',
        b'{"a": "\\ud800 lone"}',
        '{"a": 1}'.encode("utf-16"),
        b'\xef\xbb\xbf{"a": 1}',
        b'{"a": 1, "a": 2}',
        b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 1.5e-7, "d": -0, "e": 0.1}',
        '{"form": "text \\ud83d"}',
    ],
)
def test_loads_reads_what_json_reads(text):
    assert same(loads(text), json.loads(text))


@pytest.mark.parametrize("text", [b"{", b'{"a": }', b"\xff", b"", b"[1,]"])
def test_loads_refuses_what_json_refuses_in_its_words(text):
    with pytest.raises(ValueError) as theirs:
        json.loads(text)
    with pytest.raises(ValueError, match="^" + re.escape(str(theirs.value)) + "$"):
        loads(text)


def test_loads_reads_every_fixture_as_json_does():
    files = sorted(FIXTURES.rglob("*.json"))
    assert len(files) > 300
    for path in files:
        assert same(loads(path.read_bytes()), json.loads(path.read_bytes())), path


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_loads_matches_json_on_any_document(value):
    text = json.dumps(value).encode()
    assert same(loads(text), json.loads(text))
