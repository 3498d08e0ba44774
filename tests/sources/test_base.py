"""What every source shares: parsing a JSON body, and refusing one nested too deeply to render."""

from __future__ import annotations

import json

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.preview import preview
from bridge.sources.base import MAX_DEPTH, Rejected, nesting_depth, parse_json_body
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
