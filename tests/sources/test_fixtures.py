"""Every source's fixtures, tests/fixtures/<source>/<event>__<variant>.json, against the outcome written beside each.

.txt is the chat text (for an action shown on request, through a route that names every event); .ignored is why
chat gets nothing by default; .thread is what a flow-token target receives in the item's thread.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bridge import offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.sources import SOURCES
from tests.support import FIXTURES

# Travis routes verify with a public key; any valid one will do, since fixtures are rendered, not received.
PUBLIC_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
# What each source's routes need beyond their targets; GitLab's confidential fixtures need a route that takes them.
ROUTE_KEYS = {"travis": {"public_key": PUBLIC_PEM}, "gitlab": {"secret": "s", "confidential": True}}
WITH_FIXTURES = sorted(folder.name for folder in FIXTURES.iterdir() if folder.name in SOURCES)
TARGETS = ["chat", "inbox"]


def config() -> dict:
    """Two routes per source: its defaults, and one naming every event so that hidden ones render."""
    routes = {}
    for source in WITH_FIXTURES:
        keys = {"source": source, "targets": TARGETS, **ROUTE_KEYS.get(source, {"secret": "s"})}
        routes[source], routes[f"{source}-named"] = keys, {**keys, "events": ["*", "*.*"]}
    return {"targets": {"chat": {"org": "acme", "flow": "main", "token": "t"}, "inbox": {"flow_token": "f"}}, "routes": routes}


SERVICES = offline_services(parse_config(json.dumps(config())))
CASES = sorted(path for source in WITH_FIXTURES for path in (FIXTURES / source).glob("*__*.json"))
IDS = [f"{path.parent.name}/{path.stem}" for path in CASES]


def outcome(path: Path) -> tuple:
    """The default decision, the final one, and what each target receives."""
    source, event, payload = path.parent.name, path.stem.split("__")[0], json.loads(path.read_text())
    decision = SOURCES[source].classify(event, payload)
    final, sent, warnings = messages_for(SERVICES, f"{source}-named" if decision.hidden else source, event, payload, "fixture", TARGETS)
    assert warnings == []
    return decision, final, sent


@pytest.mark.parametrize("source", [s for s in WITH_FIXTURES if s != "github"])
def test_every_fixture_says_where_it_came_from(source: str):
    """GitHub's are checked against octokit's examples (test_conformance.py); every other source's SOURCES.md names each file."""
    recorded = (FIXTURES / source / "SOURCES.md").read_text()
    assert "http" in recorded
    assert [p.name for p in (FIXTURES / source).glob("*__*.json") if f"`{p.name}`" not in recorded] == []


@pytest.mark.parametrize("path", CASES, ids=IDS)
def test_fixture_chat_message_is_exactly_as_expected(path: Path):
    """Each fixture's chat outcome is written beside it: the full text, or the reason for none."""
    decision, final, sent = outcome(path)
    expected_text, expected_reason = path.with_suffix(".txt"), path.with_suffix(".ignored")
    assert expected_text.exists() or expected_reason.exists(), f"{path.name} needs a .txt or an .ignored"
    if expected_reason.exists():
        assert decision.hidden or final.template is None or not final.chat, "rendered by default: write a .txt instead"
        assert (decision.reason if decision.template else final.reason) == expected_reason.read_text().strip()
    if expected_text.exists():
        assert sent["chat"]["event"] == "message"
        assert sent["chat"]["content"] == expected_text.read_text().rstrip("\n")
    else:
        assert "chat" not in sent


@pytest.mark.parametrize("path", CASES, ids=IDS)
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
