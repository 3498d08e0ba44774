"""GitHub source: the signature table, parsing refusals (every fixture against its expected text: test_fixtures.py)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from bridge.sources import Inbound, Rejected, github
from tests.support import sign

# GitHub's published test vector (docs: "Validating webhook deliveries").
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_published_vector_verifies():
    github.verify(Inbound({"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY), {"secret": VECTOR_SECRET})


@pytest.mark.parametrize(
    "headers, body, secret, reason",
    [
        ({}, VECTOR_BODY, VECTOR_SECRET, "missing X-Hub-Signature-256"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, None, "no secret"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, "", "no secret"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE}, b"Hello, World?", VECTOR_SECRET, "does not match"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE}, VECTOR_BODY, "another secret", "does not match"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE[:-1]}, VECTOR_BODY, VECTOR_SECRET, "does not match"),
        ({"X-Hub-Signature-256": VECTOR_SIGNATURE.upper()}, VECTOR_BODY, VECTOR_SECRET, "must look like sha256="),
        ({"X-Hub-Signature-256": "sha1=" + VECTOR_SIGNATURE[7:]}, VECTOR_BODY, VECTOR_SECRET, "must look like sha256="),
        ({"X-Hub-Signature-256": "sha256="}, VECTOR_BODY, VECTOR_SECRET, "must look like sha256="),
        ({"X-Hub-Signature-256": "sha256=ü" + VECTOR_SIGNATURE[8:]}, VECTOR_BODY, VECTOR_SECRET, "does not match"),
        ({"X-Hub-Signature": "sha1=" + "0" * 40}, VECTOR_BODY, VECTOR_SECRET, "missing X-Hub-Signature-256"),
    ],
)
def test_signature_failures_are_401(headers, body, secret, reason):
    with pytest.raises(Rejected) as caught:
        github.verify(Inbound(headers, body), {"secret": secret} if secret is not None else {})
    assert caught.value.status == 401
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "headers, body, status, reason",
    [
        ({"Content-Type": "application/json"}, b"{}", 400, "missing X-GitHub-Event"),
        ({"X-GitHub-Event": "push", "Content-Type": "application/json"}, b"{not json", 400, "not valid JSON"),
        ({"X-GitHub-Event": "push", "Content-Type": "application/json"}, b"[1, 2]", 400, "JSON object"),
        ({"X-GitHub-Event": "push", "Content-Type": "text/plain"}, b"{}", 415, "unsupported content type 'text/plain'"),
        ({"X-GitHub-Event": "push"}, b"{}", 415, "unsupported content type '(none)'"),
        ({"X-GitHub-Event": "push", "Content-Type": "application/x-www-form-urlencoded"}, b"other=1", 400, "no payload= field"),
    ],
)
def test_parse_refusals(headers, body, status, reason):
    with pytest.raises(Rejected) as caught:
        github.parse(headers, body)
    assert (caught.value.status, reason in caught.value.message) == (status, True)


def test_form_encoded_delivery_parses_like_json():
    payload = {"zen": "Keep it logically awesome.", "hook_id": 1}
    form = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"X-GitHub-Event": "ping", "Content-Type": "application/x-www-form-urlencoded"}
    assert github.parse(headers, form) == ("ping", payload)


def test_delivery_id_prefers_githubs_guid_and_falls_back_to_body_hash():
    assert github.delivery_id({"X-GitHub-Delivery": "72d3162e"}, b"{}") == "72d3162e"
    assert github.delivery_id({}, b"{}") == github.delivery_id({}, b"{}") != github.delivery_id({}, b"{ }")


def test_a_signature_made_by_the_test_helper_verifies():
    github.verify(Inbound({"X-Hub-Signature-256": sign(b"{}")}, b"{}"), {"secret": VECTOR_SECRET})
