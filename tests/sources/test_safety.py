"""Payload text of every source cannot leak secrets, inject markup, ping anyone or overflow a message."""

from __future__ import annotations

import html
import json
import re

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.render import MAX_CONTENT
from tests.flowdock_text import mentions
from tests.support import EVERY_SOURCE_CONFIG as CONFIG
from tests.support import EVERY_SOURCE_ROUTES as ROUTES
from tests.support import FIXTURES, fixture_payload

SERVICES = offline_services(parse_config(CONFIG))


def sent(event: str, payload: dict, source: str = "github") -> dict:
    return messages_for(SERVICES, ROUTES[source], event, payload, "e", ["chat", "inbox"])[1]


WITH_SECRET = [p for p in sorted((FIXTURES / "github").glob("secret_scanning_alert__*.json")) if json.loads(p.read_text())["alert"].get("secret")]


@pytest.mark.parametrize("path", WITH_SECRET, ids=lambda p: p.stem)
def test_a_leaked_secret_never_reaches_a_message(path):
    payload = json.loads(path.read_text())
    secret = payload["alert"]["secret"]
    assert secret and secret not in json.dumps(sent("secret_scanning_alert", payload))


def test_markup_in_payload_text_is_escaped_in_thread_html():
    payload = fixture_payload("github", "pull_request__opened")
    payload["pull_request"]["title"] = '<img src=x onerror="alert(1)">'
    payload["pull_request"]["body"] = "</p><script>steal()</script>"
    thread = sent("pull_request", payload)["inbox"]["thread"]
    assert "<img" not in thread["title"] and "&lt;img src=x" in thread["title"]
    assert "<script>" not in thread["body"] and "&lt;script&gt;" in thread["body"]


def test_a_huge_commit_message_is_cut_and_marked():
    payload = fixture_payload("github", "push__many_commits")
    for commit in payload["commits"]:
        commit["message"] = "x" * 20000
    content = sent("push", payload)["chat"]["content"]
    assert len(content) <= MAX_CONTENT and len(content.splitlines()[2]) < 200


def test_a_huge_comment_is_cut_in_chat_and_in_the_thread():
    payload = fixture_payload("github", "issue_comment__created")
    payload["comment"]["body"] = "word " * 50000
    messages = sent("issue_comment", payload)
    assert len(messages["chat"]["content"]) <= MAX_CONTENT
    assert len(messages["inbox"].get("body") or "") < 5000


# Fields code matches on, or that must stay ids: GitHub's and GitLab's (noteable_type, a job's build_status, before/after shas).
KEPT_FOR_MARKUP = ("action", "state", "conclusion", "status", "build_status", "ref", "sha", "html_url", "url", "noteable_type", "before", "after", "web_url")


def with_markup(value):
    """Every string of a payload with a <b> tag added, except URLs and ids that code matches on."""
    if isinstance(value, dict):
        return {k: (v if k in KEPT_FOR_MARKUP else with_markup(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_markup(v) for v in value]
    return value + "<b>x</b>" if isinstance(value, str) and not value.startswith("http") else value


CASES = [p for source in ROUTES for p in sorted((FIXTURES / source).glob("*__*.json")) if p.with_suffix(".thread").exists()]


def source_of(path) -> str:
    """The source, by the fixture's folder."""
    return path.parent.name


def case_id(path) -> str:
    return f"{source_of(path)}-{path.stem}"


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_payload_markup_never_reaches_thread_html_unescaped(path):
    message = sent(path.stem.split("__")[0], with_markup(json.loads(path.read_text())), source_of(path))["inbox"]
    thread = message.get("thread") or {}
    places = [message.get("title") or "", message.get("body") or "", thread.get("title", ""), thread.get("body") or ""]
    places += [field["value"] for field in thread.get("fields", [])]
    assert not [text for text in places if "<b>" in text]


# Control characters (ESC included), C1 controls, bidi overrides, isolates and marks, halves of surrogate pairs.
UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ud800-\udfff\ufeff\u2060-\u2064\U000e0000-\U000e007f\u2028\u2029]|\r(?!\n)"
)
NASTY = " cc:@everyone x.@all @@team #@here \ufeff\r\u2028 \x1b[31mred\x1b[0m \x1b]8;;https://evil\x07\u202egnp.exe\x07\u2066"
# Fields code matches on (an action, a state): text appended to them would change the event, not test it.
MATCHED = (
    "action",
    "state",
    "conclusion",
    "status",
    "ref",
    "ref_type",
    "sha",
    "html_url",
    "url",
    "event",
    "type",
    "state_reason",
    "noteable_type",
    "before",
    "after",
    "visibility",
)


def with_text(value, extra: str):
    """Every string of a payload with extra appended, except the fields code matches on."""
    if isinstance(value, dict):
        return {k: (v if k in MATCHED else with_text(v, extra)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_text(v, extra) for v in value]
    return value + extra if isinstance(value, str) else value


def shown_text(message: dict) -> list[str]:
    """Every piece of text a message shows: content, titles, bodies, field values, author names, tags."""
    thread = message.get("thread") or {}
    texts = [message.get(key) or "" for key in ("content", "title", "body")] + [thread.get("title", ""), thread.get("body") or ""]
    texts += [field["value"] for field in thread.get("fields", [])] + [(message.get("author") or {}).get("name", "")]
    return texts + list(message.get("tags", []))


ALL_CASES = [p for source in ROUTES for p in sorted((FIXTURES / source).glob("*__*.json"))]


@pytest.mark.parametrize("path", ALL_CASES, ids=case_id)
def test_payload_text_neither_pings_nor_carries_escapes_or_bidi_overrides(path):
    for message in sent(path.stem.split("__")[0], with_text(json.loads(path.read_text()), NASTY), source_of(path)).values():
        for text in shown_text(message):
            assert mentions(text) == [], text
            assert not UNSAFE.search(text), text


@pytest.mark.parametrize(
    "fixture, path",
    [
        ("pull_request__opened", ("pull_request", "number")),
        ("issues__opened", ("issue", "number")),
        ("workflow_run__failure", ("workflow_run", "run_number")),
    ],
)
def test_a_number_sent_as_a_word_makes_no_tag_after_a_templates_hash(fixture, path):
    payload = fixture_payload("github", fixture)
    payload[path[0]][path[1]] = "everyone"
    for message in sent(fixture.split("__")[0], payload).values():
        for text in shown_text(message):
            assert mentions(text) == [], text


def test_mentions_in_titles_fields_and_bodies_of_a_thread_are_neutralised():
    payload = fixture_payload("github", "pull_request__opened")
    payload["pull_request"]["title"] = "cc:@everyone"
    payload["pull_request"]["body"] = "x.@all and #@here"
    payload["pull_request"]["labels"] = [{"name": "@@team"}]
    thread = sent("pull_request", payload)["inbox"]["thread"]
    assert "@\u200beveryone" in thread["title"] and "#@\u200bhere" in thread["body"]
    assert {"label": "Labels", "value": "@@\u200bteam"} in thread["fields"]


@pytest.mark.parametrize(
    "fixture, item, field",
    [("pull_request__opened", "pull_request", "title"), ("issue_comment__created", "issue", "title"), ("issue_comment__created", "comment", "body")],
)
def test_a_single_huge_field_is_cut_and_the_message_still_sent(fixture, item, field):
    payload = fixture_payload("github", fixture)
    payload[item][field] = "\"<'&\n" * 60000
    messages = sent(fixture.split("__")[0], payload)
    assert set(messages) == {"chat", "inbox"}
    assert len(messages["chat"]["content"]) <= MAX_CONTENT
    assert len(json.dumps(messages["inbox"])) < 200_000


def test_several_huge_fields_together_still_make_a_thread_message():
    payload = fixture_payload("github", "pull_request__opened")
    huge = "\"<'&" * 75000
    for field in ("title", "body"):
        payload["pull_request"][field] = huge
    payload["pull_request"]["head"]["ref"] = payload["pull_request"]["base"]["ref"] = payload["repository"]["full_name"] = huge
    payload["pull_request"]["labels"] = [{"name": huge}] * 50
    thread = sent("pull_request", payload)["inbox"]["thread"]
    assert thread["title"].startswith("#2 &#34;&lt;&#39;&amp;") and len(json.dumps(thread)) < 100_000


JAVASCRIPT = "javascript:alert(1)//"


def with_urls(value, url: str):
    """Every URL field of a payload (html_url, url, avatar_url, target_url, ...) set to url."""
    if isinstance(value, dict):
        return {k: (url if k.endswith("url") and isinstance(v, str) else with_urls(v, url)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_urls(v, url) for v in value]
    return value


def links_of(message: dict) -> list[str]:
    """Every URL a message would make clickable: hrefs in its HTML, the thread's URL, actions and the avatar."""
    thread = message.get("thread") or {}
    urls = [html.unescape(h) for text in shown_text(message) for h in re.findall(r"href\s*=\s*[\"']?([^\"'\s>]*)", text)]
    urls += [action.get("url") for action in thread.get("actions", [])] + [thread.get("external_url"), (message.get("author") or {}).get("avatar")]
    return [url for url in urls if url is not None]


@pytest.mark.parametrize("path", ALL_CASES, ids=case_id)
def test_only_http_urls_become_links_thread_urls_or_actions(path):
    messages = sent(path.stem.split("__")[0], with_urls(json.loads(path.read_text()), JAVASCRIPT), source_of(path))
    for message in messages.values():
        assert [url for url in links_of(message) if not url.startswith(("https://", "http://"))] == []


def test_a_javascript_repository_url_keeps_its_text_and_loses_its_link():
    payload = fixture_payload("github", "push__many_commits")
    payload["repository"]["html_url"] = JAVASCRIPT
    payload["commits"][0]["url"] = JAVASCRIPT
    thread_message = sent("push", payload)["inbox"]
    assert JAVASCRIPT not in json.dumps([links_of(thread_message)])
    assert payload["commits"][0]["id"][:7] in thread_message["body"]


GITLAB_TEXT = 'cc @group/team @all, fixes #123 and !45, see ~bug ~"needs review" and %"v1.0"; mail user@example.com'


@pytest.mark.parametrize(
    "fixture, place",
    [
        ("merge_request__open", ("object_attributes", "title")),
        ("merge_request__open", ("object_attributes", "description")),
        ("issue__open", ("object_attributes", "description")),
        ("note__merge_request", ("object_attributes", "note")),
        ("push__commits", ("commits", 0, "title")),
    ],
)
def test_gitlab_mentions_and_references_never_ping_or_tag(fixture, place):
    payload = fixture_payload("gitlab", fixture)
    *path, last = place
    target = payload
    for key in path:
        target = target[key]
    target[last] = GITLAB_TEXT
    messages = sent(fixture.split("__")[0], payload, "gitlab")
    chat = messages["chat"]["content"]
    assert "@\u200bgroup/team @\u200ball" in chat and "#\u200b123" in chat and "!45" in chat and "~bug" in chat
    for message in messages.values():
        for text in shown_text(message):
            assert mentions(text) == [], text


@pytest.mark.parametrize(
    "source, fixture, ref",
    [
        ("gitlab", "push__commits", "refs/heads/@all"),
        ("gitlab", "push__new_branch", "refs/heads/@all"),
        ("gitlab", "tag_push__created", "refs/tags/@all"),
        ("github", "push__many_commits", "refs/heads/@all"),
    ],
)
def test_a_branch_or_tag_named_like_a_mention_never_pings(source, fixture, ref):
    """git allows a branch named @all; quieting "refs/heads/@all" leaves it ("/" protects it) until a source cuts the prefix off."""
    payload = fixture_payload(source, fixture)
    payload["ref"] = ref
    messages = sent(fixture.split("__")[0], payload, source)
    assert "@\u200ball" in messages["chat"]["content"]
    for message in messages.values():
        for text in shown_text(message):
            assert mentions(text) == [], text


def test_markdown_in_a_gitlab_description_stays_inside_the_quote():
    payload = fixture_payload("gitlab", "merge_request__open")
    payload["object_attributes"]["description"] = "# Heading\n\n```\ncode\n```\n- item\n> quote\n[link](javascript:alert(1))"
    lines = sent("merge_request", payload, "gitlab")["chat"]["content"].splitlines()
    quoted = lines[lines.index("Reviewers: user1") + 1 :]
    assert quoted == ["> # Heading", "> ```", "> code", "> …"]


def test_a_huge_gitlab_push_is_capped_with_and_n_more():
    payload = fixture_payload("gitlab", "push__commits")
    payload["commits"] = [{**payload["commits"][0], "id": f"{i:040x}", "message": "x" * 20000} for i in range(20)]
    payload["total_commits_count"] = 250
    content = sent("push", payload, "gitlab")["chat"]["content"]
    lines = content.splitlines()
    assert len(content) <= MAX_CONTENT and lines[0].startswith("jsmith pushed 250 commits")
    assert len(lines) == 8 and lines[-1] == "… and 245 more" and all(len(line) < 200 for line in lines)
