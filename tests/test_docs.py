"""The customising guide's examples are real files, shown verbatim, and do what the guide says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.messages import Rendition
from bridge.render import Renderer
from bridge.sources import github
from tests.support import fixture_payload

DOCS = Path(__file__).parent.parent / "docs"
GUIDE = (DOCS / "customising.md").read_text()
EXAMPLES = sorted(p for p in (DOCS / "examples").glob("*/github/*") if p.is_file())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.parent.name for p in EXAMPLES])
def test_each_example_is_shown_verbatim_in_the_guide(path):
    assert path.read_text().rstrip("\n") in GUIDE


def render(example: str, fixture: str, event: str) -> str:
    return Renderer([DOCS / "examples" / example]).render(f"github/{event}.txt", github.context(event, fixture_payload("github", fixture)))


def test_shorter_push_messages():
    expected = "Codertocat → master: Fix crash when the payload has no sender · Add retry with backoff · Bump requests from 2.31 to 2.32 · Write the..."
    assert render("short-push", "push__many_commits", "push") == expected
    assert expected in GUIDE


def test_team_pull_request_format():
    expected = "✅ Hello-World#2 Update the README with new information. — Codertocat\nhttps://github.com/Codertocat/Hello-World/pull/2"
    assert render("team-pr", "pull_request__merged", "pull_request") == expected
    assert expected in GUIDE


def test_adding_a_field_to_a_thread():
    payload = fixture_payload("github", "pull_request__opened")
    rendition = Rendition(Renderer([DOCS / "examples" / "thread-field"]), github.classify("pull_request", payload), github.context("pull_request", payload))
    assert rendition.activity["thread"]["fields"][-1] == {"label": "Changed files", "value": "1"}
    assert "`Changed files: 1`" in GUIDE
