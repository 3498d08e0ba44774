"""Route filters, one table: what each key lets through and the reason it gives when it drops."""

from __future__ import annotations

import pytest

from tests.support import routed


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
    result = routed("github", extra, fixture, change)
    if dropped_by is None:
        assert result.startswith("Codertocat ")
    else:
        assert result == dropped_by


def mention_everyone(payload):
    payload["issue"]["title"] = "@all please look, see #42 and mail octocat@github.com"


def test_payload_text_cannot_ping_or_tag_unless_the_route_opts_in():
    quiet = routed("github", "", "issues__opened", mention_everyone)
    assert "@\u200ball please look, see #\u200b42 and mail octocat@github.com" in quiet
    loud = routed("github", ", allow_mentions: true", "issues__opened", mention_everyone)
    assert "@all please look, see #42" in loud


def test_allow_mentions_reaches_every_template():
    def ping_alice(payload):
        payload["comment"]["body"] = "ping @alice"

    assert "ping @alice" in routed("github", ", allow_mentions: true", "commit_comment__created", ping_alice)
    assert "ping @\u200balice" in routed("github", "", "commit_comment__created", ping_alice)


@pytest.mark.parametrize(
    "events, shown",
    [("[create]", True), ("['create.*']", True), ("['*.*']", True), ("['*']", False), ("['cr*']", False), (None, False)],
)
def test_an_event_hidden_by_default_needs_a_route_to_name_it(events, shown):
    result = routed("github", f", events: {events}" if events else "", "create__tag")
    assert result.startswith("Codertocat created tag simple-tag") if shown else result == "create is shown only when a route's events names it"
