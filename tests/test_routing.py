"""Route filters, one table: what each key lets through and the reason it gives when it drops."""

from __future__ import annotations

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from tests.support import fixture_payload

BASE = """\
targets:
  chat: {{org: acme, flow: main, token: t}}
routes:
  r: {{source: github, secret: s, targets: [chat]{extra}}}
"""


def outcome(extra: str, fixture: str, change=None):
    """The chat content, or the reason the route dropped the event."""
    payload = fixture_payload("github", fixture)
    if change:
        change(payload)
    decision, sent, _ = messages_for(offline_services(parse_config(BASE.format(extra=extra))), "r", fixture.split("__")[0], payload, "e", ["chat"])
    return sent["chat"]["content"] if sent else decision.reason


def set_private(payload):
    payload["repository"]["private"] = True


def set_bot(payload):
    payload["sender"]["login"] = "dependabot[bot]"


@pytest.mark.parametrize(
    "extra, fixture, change, dropped_by",
    [
        ("", "push__many_commits", None, None),
        (", events: [push]", "push__many_commits", None, None),
        (", events: [pull_request]", "push__many_commits", None, "routes.r.events: push matches none of pull_request"),
        (", events: ['pull_*']", "pull_request__opened", None, None),
        (", events: [pull_request.opened]", "pull_request__merged", None, "routes.r.events: pull_request.closed matches none of pull_request.opened"),
        (", exclude_events: [pull_request.closed]", "pull_request__merged", None, "routes.r.exclude_events: pull_request.closed is excluded"),
        (", exclude_events: [issues]", "issues__opened", None, "routes.r.exclude_events: issues.opened is excluded"),
        (", branches: [main, 'release/*']", "push__many_commits", None, "routes.r.branches: master matches none of main, release/*"),
        (", branches: ['mast*']", "push__many_commits", None, None),
        (", branches: [main]", "pull_request__opened", None, "routes.r.branches: master matches none of main"),
        (", branches: [main]", "push__tag_created", None, None),  # tags have no branch
        (", labels: [bug]", "issues__opened", None, None),
        (", labels: ['needs-*']", "issues__opened", None, "routes.r.labels: none of [bug] matches needs-*"),
        (", labels: [bug]", "push__many_commits", None, None),  # pushes have no labels
        (", repositories: ['Codertocat/*']", "issues__opened", None, None),
        (", repositories: [acme/widgets]", "issues__opened", None, "routes.r.repositories: Codertocat/Hello-World matches none of acme/widgets"),
        (", private: false", "issues__opened", set_private, "routes.r.private: events from private repositories are off"),
        (", private: false", "issues__opened", None, None),
        (", exclude_authors: ['*[bot]']", "issues__opened", set_bot, "routes.r.exclude_authors: dependabot[bot] is excluded"),
        (", exclude_authors: ['*[bot]']", "issues__opened", None, None),
    ],
)
def test_route_filters(extra, fixture, change, dropped_by):
    result = outcome(extra, fixture, change)
    if dropped_by is None:
        assert result.startswith("Codertocat ")
    else:
        assert result == dropped_by


def mention_everyone(payload):
    payload["issue"]["title"] = "@all please look, see #42 and mail octocat@github.com"


def test_payload_text_cannot_ping_or_tag_unless_the_route_opts_in():
    quiet = outcome("", "issues__opened", mention_everyone)
    assert "@\u200ball please look, see #\u200b42 and mail octocat@github.com" in quiet
    loud = outcome(", allow_mentions: true", "issues__opened", mention_everyone)
    assert "@all please look, see #42" in loud


def test_allow_mentions_reaches_every_template():
    def ping_alice(payload):
        payload["comment"]["body"] = "ping @alice"

    assert "ping @alice" in outcome(", allow_mentions: true", "commit_comment__created", ping_alice)
    assert "ping @\u200balice" in outcome("", "commit_comment__created", ping_alice)


@pytest.mark.parametrize(
    "events, shown",
    [("[create]", True), ("['create.*']", True), ("['*.*']", True), ("['*']", False), ("['cr*']", False), (None, False)],
)
def test_an_event_hidden_by_default_needs_a_route_to_name_it(events, shown):
    result = outcome(f", events: {events}" if events else "", "create__tag")
    assert result.startswith("Codertocat created tag simple-tag") if shown else result == "create is shown only when a route's events names it"
