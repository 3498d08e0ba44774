"""GitHub source: the signature table, parsing refusals, and every fixture against its expected text."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.sources import Inbound, Rejected, github
from tests.support import FIXTURES, sign

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


CASES = sorted((FIXTURES / "github").glob("*__*.json"))
SERVICES = offline_services(
    parse_config("""\
targets:
  chat: {org: acme, flow: main, token: t}
  inbox: {flow_token: f}
routes:
  hooks: {source: github, secret: s, targets: [chat, inbox]}
  named: {source: github, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
""")
)


def outcome(path: Path) -> tuple:
    """The default decision, and what each target receives: through a route naming every action when hidden.

    A fixture's files say: .ignored, why chat gets nothing by default; .txt, the chat text (for a hidden
    action, when a route names it); .thread, what a flow-token target receives in the item's thread.
    """
    event, payload = path.stem.split("__")[0], json.loads(path.read_text())
    decision = github.classify(event, payload)
    final, sent, warnings = messages_for(SERVICES, "named" if decision.hidden else "hooks", event, payload, "fixture", ["chat", "inbox"])
    assert warnings == []
    return decision, final, sent


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_chat_message_is_exactly_as_expected(path: Path):
    """Each fixture's chat outcome is written beside it: the full text, or the reason for none."""
    decision, final, sent = outcome(path)
    expected_text, expected_reason = path.with_suffix(".txt"), path.with_suffix(".ignored")
    assert expected_text.exists() or expected_reason.exists(), f"{path.name} needs a .txt or an .ignored"
    if expected_reason.exists():
        assert decision.hidden or final.template is None or not final.chat, "rendered by default: write a .txt instead"
        assert decision.reason == expected_reason.read_text().strip() if decision.template else final.reason == expected_reason.read_text().strip()
    if expected_text.exists():
        assert sent["chat"]["event"] == "message"
        assert sent["chat"]["content"] == expected_text.read_text().rstrip("\n")
    else:
        assert "chat" not in sent or decision.hidden


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_thread_message_is_exactly_as_expected(path: Path):
    """A .thread file is what a flow-token target receives; without one it gets the chat message or nothing."""
    _, _, sent = outcome(path)
    expected = path.with_suffix(".thread")
    if expected.exists():
        wanted = json.loads(expected.read_text())
        assert sent["inbox"]["event"] in ("activity", "discussion")
        assert {key: sent["inbox"][key] for key in wanted} == wanted
    elif path.with_suffix(".txt").exists():
        assert sent["inbox"]["event"] == "message"
    else:
        assert "inbox" not in sent
