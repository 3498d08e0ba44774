"""GitLab source: the token and signature table, parsing refusals, delivery ids (every fixture against its expected text: test_fixtures.py)."""

from __future__ import annotations

import json
import re
import time

import pytest

from bridge.sources import Inbound, Rejected, gitlab
from tests.support import SECRET, SIGNING_KEY, fixture_payload, gitlab_headers, routed

BODY = b'{"object_kind": "push"}'
BOTH = {"secret": SECRET, "signing_secret": SIGNING_KEY}


def delivery(**changes: str | int | None) -> Inbound:
    """A push delivery signed both ways now, with some headers replaced, (None) removed, or (an int) a timestamp that many seconds from now."""
    now = int(time.time())
    headers = {**gitlab_headers("push", BODY, now=now), **{k: str(now + v) if isinstance(v, int) else v for k, v in changes.items()}}
    return Inbound({name: value for name, value in headers.items() if value is not None}, BODY)


@pytest.mark.parametrize("credentials", [{"secret": SECRET}, {"signing_secret": SIGNING_KEY}, BOTH], ids=["token", "signature", "both"])
def test_a_delivery_with_the_right_token_and_signature_verifies(credentials):
    gitlab.verify(delivery(), credentials)


def test_a_route_with_only_a_signing_secret_ignores_the_token_header():
    gitlab.verify(delivery(**{"X-Gitlab-Token": None}), {"signing_secret": SIGNING_KEY})


def test_a_route_with_only_a_secret_ignores_the_signature_headers():
    gitlab.verify(delivery(**{"webhook-signature": None, "webhook-timestamp": None}), {"secret": SECRET})


@pytest.mark.parametrize(
    "changes, credentials, reason",
    [
        ({}, {}, "no secret or signing_secret"),
        ({"X-Gitlab-Token": None}, {"secret": SECRET}, "missing X-Gitlab-Token header"),
        ({"X-Gitlab-Token": "wrong"}, {"secret": SECRET}, "X-Gitlab-Token does not match"),
        ({"X-Gitlab-Token": SECRET + " "}, {"secret": SECRET}, "X-Gitlab-Token does not match"),
        ({"X-Gitlab-Token": "ü" + SECRET}, {"secret": SECRET}, "X-Gitlab-Token does not match"),
        ({"webhook-signature": None}, {"signing_secret": SIGNING_KEY}, "missing webhook-signature header"),
        ({"webhook-id": None}, {"signing_secret": SIGNING_KEY}, "missing webhook-id header"),
        ({"webhook-timestamp": None}, {"signing_secret": SIGNING_KEY}, "missing webhook-timestamp header"),
        ({"webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="}, {"signing_secret": SIGNING_KEY}, "webhook-signature does not match"),
        ({"webhook-timestamp": -400}, {"signing_secret": SIGNING_KEY}, r"webhook-timestamp is \d+ s old, more than 300 s"),
        ({"webhook-timestamp": 400}, {"signing_secret": SIGNING_KEY}, r"webhook-timestamp is \d+ s in the future, more than 300 s"),
        ({"webhook-signature": "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="}, {"signing_secret": SIGNING_KEY}, "holds no v1,<base64> signature"),
        ({"webhook-signature": "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc"}, {"signing_secret": SIGNING_KEY}, "not valid base64"),
        ({"X-Gitlab-Token": "wrong"}, BOTH, "X-Gitlab-Token does not match"),
        ({"webhook-id": "another-id"}, BOTH, "webhook-signature does not match"),
        ({"webhook-signature": None}, BOTH, "missing webhook-signature header"),
    ],
    ids=[
        "no-credentials", "token-missing", "token-wrong", "token-padded", "token-non-ascii", "signature-missing", "id-missing", "timestamp-missing",
        "signature-wrong", "timestamp-stale", "timestamp-future", "wrong-version", "malformed-base64", "both-set-token-wrong", "both-set-signature-wrong",
        "both-set-signature-missing",
    ],
)  # fmt: skip
def test_auth_failures_are_401_naming_the_header(changes, credentials, reason):
    """reason is a pattern: how many seconds a timestamp is off depends on how long the test took to get there."""
    with pytest.raises(Rejected) as caught:
        gitlab.verify(delivery(**changes), credentials)
    assert caught.value.status == 401
    assert re.search(reason, caught.value.message), caught.value.message


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "headers, body, status, reason",
    [
        (JSON, BODY, 400, "missing X-Gitlab-Event header"),
        ({**JSON, "X-Gitlab-Event": "  "}, BODY, 400, "missing X-Gitlab-Event header"),
        ({"X-Gitlab-Event": "Push Hook"}, BODY, 415, "unsupported content type '(none)'"),
        ({"X-Gitlab-Event": "Push Hook", "Content-Type": "application/x-www-form-urlencoded"}, BODY, 415, "unsupported content type"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b"{not json", 400, "not valid JSON"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b"[1]", 400, "JSON object"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b'{"object_kind": null}', 400, "neither object_kind nor event_name"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b'{"object_kind": 7, "event_name": ""}', 400, "neither object_kind nor event_name"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b'{"object_kind": "../../etc"}', 400, "is not an event name"),
        ({**JSON, "X-Gitlab-Event": "Push Hook"}, b'{"object_kind": "Push Hook"}', 400, "is not an event name"),
    ],
)
def test_parse_refusals(headers, body, status, reason):
    with pytest.raises(Rejected) as caught:
        gitlab.parse(headers, body)
    assert (caught.value.status, reason in caught.value.message) == (status, True), caught.value.message


@pytest.mark.parametrize(
    "hook, body, event",
    [
        ("Push Hook", {"object_kind": "push", "event_name": "push"}, "push"),
        ("Job Hook", {"object_kind": "build"}, "build"),
        ("Member Hook", {"event_name": "user_add_to_group"}, "user_add_to_group"),
        ("System Hook", {"event_name": "project_create"}, "project_create"),
        ("System Hook", {"object_kind": "merge_request", "event_name": "merge_request"}, "merge_request"),
        ("System Hook", {"object_kind": "push", "event_name": "repository_update"}, "repository_update"),
        ("Access Token Hook", {"object_kind": "access_token", "event_name": "expiring_access_token"}, "access_token"),
    ],
)
def test_the_event_is_the_object_kind_or_for_system_hooks_the_event_name(hook, body, event):
    assert gitlab.parse({**JSON, "X-Gitlab-Event": hook}, json.dumps(body).encode()) == (event, body)


def test_delivery_id_prefers_the_signed_webhook_id_then_idempotency_key_then_event_uuid_then_the_body():
    everything = {"Idempotency-Key": "idem", "webhook-id": "wh", "X-Gitlab-Event-UUID": "uuid"}
    # A captured signed delivery replayed with a fresh Idempotency-Key is still the same delivery.
    assert gitlab.delivery_id(everything, BODY) == gitlab.delivery_id({**everything, "Idempotency-Key": "replay"}, BODY) == "wh"
    assert gitlab.delivery_id({**everything, "webhook-id": ""}, BODY) == "idem"
    assert gitlab.delivery_id({"X-Gitlab-Event-UUID": "uuid"}, BODY) == "uuid"
    assert gitlab.delivery_id({}, BODY) == gitlab.delivery_id({}, BODY) != gitlab.delivery_id({}, BODY + b" ")


def set_visibility(level: int):
    def change(payload):
        payload["project"]["visibility_level"] = level

    return change


def internal_note(payload):
    """A reaction to an internal note: the note rides beside the award."""
    payload["note"]["internal"] = True


@pytest.mark.parametrize(
    "extra, fixture, change, dropped_by",
    [
        ("", "merge_request__merge", None, None),
        (", events: [merge_request.merge]", "merge_request__merge", None, None),
        (", events: [merge_request.open]", "merge_request__merge", None, "routes.r.events: merge_request.merge matches none of merge_request.open"),
        (", exclude_events: [note]", "note__issue", None, "routes.r.exclude_events: note.create is excluded"),
        (", events: [merge_request.update]", "merge_request__update_title", None, None),
        (", events: ['merge_request.*']", "merge_request__update_commits", None, None),
        (", events: ['merge_*']", "merge_request__update_commits", None, "merge_request action 'update' is shown only when a route's events names it"),
        (", repositories: ['gitlabhq/*']", "merge_request__merge", None, None),
        (", repositories: [acme/widgets]", "merge_request__merge", None, "routes.r.repositories: gitlabhq/gitlab-test matches none of acme/widgets"),
        (", private: false", "merge_request__merge", None, None),
        (", private: false", "merge_request__merge", set_visibility(10), "routes.r.private: events from private repositories are off"),
        (", private: false", "push__commits", None, "routes.r.private: events from private repositories are off"),
        (", branches: [main]", "push__commits", None, "routes.r.branches: master matches none of main"),
        (", branches: [master]", "merge_request__merge", None, None),
        (", branches: [main]", "merge_request__merge", None, "routes.r.branches: master matches none of main"),
        (", branches: [main]", "tag_push__created", None, None),  # tags have no branch
        (", labels: [API]", "issue__open", None, None),
        (", labels: [bug]", "issue__open", None, "routes.r.labels: none of [API] matches bug"),
        (", labels: [bug]", "note__merge_request", None, "routes.r.labels: none of [Afterpod, Element] matches bug"),  # its merge request's
        (", labels: [Element]", "note__merge_request", None, None),
        (", labels: [bug]", "note__commit", None, None),  # commits have no labels
        (", exclude_authors: [root]", "issue__open", None, "routes.r.exclude_authors: root is excluded"),
        (", exclude_authors: [jsmith]", "push__commits", None, "routes.r.exclude_authors: jsmith is excluded"),
        ("", "issue__confidential", None, "routes.r.confidential: confidential issues and notes are off"),
        ("", "note__confidential_issue", None, "routes.r.confidential: confidential issues and notes are off"),
        ("", "note__internal", None, "routes.r.confidential: confidential issues and notes are off"),
        (", confidential: true", "note__internal", None, None),
        ("", "note__internal_without_flags", None, "routes.r.confidential: confidential issues and notes are off"),
        (", events: [emoji.award]", "emoji__award_on_note", None, None),
        (", events: [emoji.award]", "emoji__award_on_note", internal_note, "routes.r.confidential: confidential issues and notes are off"),
    ],
)  # fmt: skip
def test_route_filters_read_gitlab_payloads(extra, fixture, change, dropped_by):
    result = routed("gitlab", extra, fixture, change)
    if dropped_by is None:
        assert result.split()[0] in ("root", "jsmith", "John"), result
    else:
        assert result == dropped_by


@pytest.mark.parametrize(
    "change, author",
    [
        ({}, ""),  # GitLab's example: the author (id 51) is neither the actor nor an assignee or reviewer
        ({"user": {"id": 51, "username": "maria"}}, "maria"),
        ({"reviewers": [{"id": 51, "username": "maria"}]}, "maria"),
        ({"object_attributes": {"action": "open"}}, "root"),  # whoever opens it is its author
    ],
)
def test_a_merge_request_threads_author_is_named_whenever_the_payload_names_the_author_id(change, author):
    payload = fixture_payload("gitlab", "merge_request__update_commits")
    payload = {**payload, **{k: {**payload[k], **v} if k == "object_attributes" else v for k, v in change.items()}}
    assert gitlab.context("merge_request", payload)["people"]["author"] == author
