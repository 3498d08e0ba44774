"""Previews, sample checks and context docs: what would be sent, without sending."""

from __future__ import annotations

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.preview import check_samples, describe_context, preview, route_for_source
from bridge.samples import sample_paths
from tests.support import FIXTURES, fixture_payload

CONFIG = """\
api_url: https://chat.example.com
targets:
  team-chat: {org: acme, flow: main, token: tok-secret}
  team-inbox: {flow_token: flow-secret}
routes:
  widgets: {source: github, secret: s, targets: [team-chat, team-inbox]ROUTE_EXTRA}
"""


def services(extra: str = ""):
    return offline_services(parse_config(CONFIG.replace("ROUTE_EXTRA", extra)))


def test_preview_lists_each_request_without_credentials():
    result = preview(services(), "widgets", "pull_request", fixture_payload("github", "pull_request__merged"))
    chat, inbox = result["requests"]
    assert (chat["method"], chat["path"], chat["body"]["event"]) == ("POST", "/flows/acme/main/messages", "message")
    assert chat["body"]["content"] == (FIXTURES / "github" / "pull_request__merged.txt").read_text().rstrip("\n")
    assert (inbox["path"], inbox["body"]["event"], inbox["body"]["flow_token"]) == ("/messages", "activity", "***")
    assert "tok-secret" not in str(result) and "flow-secret" not in str(result)


def test_preview_of_an_ignored_event_says_why():
    result = preview(services(), "widgets", "team_add", {"team": {"name": "core"}})
    assert result == {"ignored": "GitHub event 'team_add' is not rendered", "requests": []}


def test_route_for_source_picks_the_first_or_the_named_route():
    assert route_for_source(services(), "github", None) == "widgets"
    with pytest.raises(KeyError, match="no route named 'other'"):
        route_for_source(services(), "github", "other")
    with pytest.raises(KeyError, match="no route has source 'gitlab'"):
        route_for_source(services(), "gitlab", None)


def test_every_shipped_sample_renders_with_the_built_in_templates():
    assert sample_paths("github") and check_samples(services().config) == []


def test_check_samples_finds_an_override_that_fails_only_at_runtime(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.txt").write_text("{{ issue.number // 0 }}")
    errors = check_samples(services(f", templates_dir: {tmp_path}").config)
    assert errors and all(e.startswith(f"{tmp_path / 'github' / 'issues.txt'}:1: ZeroDivisionError") for e in errors)
    assert "(sample issues__opened.json)" in " ".join(errors)


def test_context_description_comes_from_the_code():
    rows = {name: (kind, sample) for name, kind, sample in describe_context("github", "push")}
    assert rows["ref_name"] == ("string", '"master"')
    assert rows["commits"][0] == "list" and rows["sender"][1].startswith("keys: login")
    with pytest.raises(KeyError, match="no github sample for event 'nope'"):
        describe_context("github", "nope")


def test_check_renders_hidden_actions_and_thread_templates_even_with_fallback_on(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "pull_request.thread.json").write_text("{{ 1 // 0 }}")
    config = services(f", templates_dir: {tmp_path}").config.model_copy(update={"templates_fallback": True})
    errors = check_samples(config)
    assert any("pull_request.thread.json:1: ZeroDivisionError" in e and "pull_request__labeled.json" in e for e in errors)
