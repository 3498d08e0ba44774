"""Requests each target builds, in-process: documented limits, mention safety, markup escaping, threads, idempotency."""

from __future__ import annotations

import json
import re

import pytest

from bridge.devflow import chat_rules
from bridge.targets import Sending, module_of
from bridge.targets.markup import markdown_actions, markdown_link
from tests.targets.conftest import OTHERS

LONG = "x" * 20000
BIG_CARD = {
    "event": "activity",
    "title": "pushed " + "many " * 400 + "commits",
    "author": {"name": "octocat" * 100},
    "body": "<p>" + "word &amp; " * 6000 + "</p>",
    "thread": {
        "title": "#1 " + "long title " * 200,
        "external_url": "https://github.com/acme/widgets/pull/1",
        "body": "<p>" + "y" * 30000 + "</p>",
        "status": {"value": "open " * 100, "color": "green"},
        "fields": [{"label": f"label {i} " * 40, "value": "v" * 3000} for i in range(40)],
        "actions": [{"@type": "ViewAction", "name": "n" * 200, "url": f"https://github.com/acme/widgets/{i}"} for i in range(40)],
    },
    "external_thread_id": "github:acme/widgets:pull:1",
    "uuid": "u-big",
}
BIG_CHAT = {"event": "message", "content": ("line of chat text\n" * 500)[:8096], "uuid": "u-chat"}


def problems(name: str, body: dict) -> list[str]:
    """devflow's check of the chat's documented rules."""
    checks = {
        "slack": chat_rules.slack,
        "mattermost": chat_rules.mattermost,
        "teams": lambda b: chat_rules.teams(b, len(json.dumps(b).encode())),
        "discord": chat_rules.discord,
        "matrix": chat_rules.matrix,
        "zulip": chat_rules.zulip,
    }
    return checks[name.split("-")[0]](body)


def built(offline, name: str, message: dict, root: str | None = None, allow_mentions: bool = False):
    settings = offline.targets[name]
    return module_of(settings).build(settings, message, Sending(root, allow_mentions, offline.api_url))


def body_of(request) -> dict:
    return request.json if request.json is not None else request.form


@pytest.mark.parametrize("name", OTHERS)
@pytest.mark.parametrize("message", [BIG_CARD, BIG_CHAT], ids=["card", "chat"])
def test_an_oversized_message_is_cut_to_the_chats_limits(offline, name, message):
    body = body_of(built(offline, name, message))
    assert problems(name, body) == []
    if message is BIG_CARD:
        assert "…" in json.dumps(body, ensure_ascii=False)  # cut visibly, not silently


def test_the_limits_are_enforced_by_devflows_checks():
    assert chat_rules.discord({"content": "x" * 2001}) == ["content: 2001 characters, more than 2000"]
    assert chat_rules.discord({"embeds": [{"description": "x" * 4000}, {"description": "y" * 2001}]}) == ["embeds: 6001 characters in all, more than 6000"]
    assert chat_rules.slack({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51}) == ["blocks: a list of at most 50 blocks"]
    assert chat_rules.slack({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]}) == [
        "blocks[0].text.text: 3001 characters, more than 3000"
    ]
    assert chat_rules.zulip({"type": "stream", "to": "dev", "topic": "t" * 61, "content": "c"}) == ["topic: more than 60 characters"]
    assert chat_rules.matrix({"msgtype": "m.notice", "body": "x" * 70000})[-1].startswith("M_TOO_LARGE")
    assert chat_rules.teams({"type": "message", "attachments": []}, 29 * 1024)[0] == "body: 29696 bytes, more than 28672 (28 KB)"
    assert chat_rules.mattermost({"text": "x" * 16384}) == ["text: 16384 characters, more than 16383"]


HOSTILE = "<!channel> <!here> <@U123ABC> @here @channel @everyone @room @**all** @_**Jane** <@&987654> <@!42> @jane:matrix.org"
# What would ping in each chat if it arrived as it is.
ACTIVE = {
    "slack": re.compile(r"<!channel>|<!here>|<@U123ABC>"),
    # Mattermost also reads Slack's <!channel>, <!here>, <!all> and <@user id> in attachment titles, text and
    # field values (its Slack compatibility: expandAnnouncement and replaceUserIds in the server's slack.go).
    "mattermost": re.compile(r"@(here|channel|everyone|all)\b|<!(channel|here|all)>|<@[a-zA-Z0-9]+>"),
    "teams": re.compile(r"<at>"),
    "discord": re.compile(r"(?<!\\)<@[!&]?\d+>|@everyone|@here"),
    "matrix": re.compile(r"@room|@jane:matrix\.org"),
    "zulip": re.compile(r"(?<!\\)@_?\*\*\w+\*\*"),
}
HOSTILE_MESSAGES = [
    {"event": "message", "content": HOSTILE, "uuid": "u-1"},
    {
        "event": "activity",
        "title": "commented",
        "author": {"name": "@everyone"},
        "body": HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
        "thread": {
            "title": "#1 @here &lt;!channel&gt; &lt;@U123ABC&gt;",
            "status": {"value": "@channel <!here>", "color": "red"},
            "fields": [{"label": "By", "value": "@room &lt;!all&gt;"}],
        },
        "external_thread_id": "t",
        "uuid": "u-2",
    },
]


@pytest.mark.parametrize("name", OTHERS)
@pytest.mark.parametrize("message", HOSTILE_MESSAGES, ids=["chat", "card"])
def test_payload_text_cannot_ping_in_any_chats_own_syntax(offline, name, message):
    body = body_of(built(offline, name, message))
    sent = json.dumps(body, ensure_ascii=False)
    assert not ACTIVE[name.split("-")[0]].search(sent), sent
    if name == "discord":
        assert body["allowed_mentions"] == {"parse": []}
    if name == "matrix":
        assert body["m.mentions"] == {}


@pytest.mark.parametrize("name, kept", [("slack", "<!channel>"), ("discord", "<@&987654>"), ("zulip", "@**all**"), ("mattermost", "@channel")])
def test_a_route_that_allows_mentions_keeps_the_chats_syntax(offline, name, kept):
    body = body_of(built(offline, name, HOSTILE_MESSAGES[0], allow_mentions=True))
    assert kept in json.dumps(body, ensure_ascii=False)


BREAKOUT = {
    "event": "activity",
    "title": "commented",
    "author": {"name": "*bold* [x](javascript:alert(1)) <https://evil|click>"},
    "body": '&lt;/a&gt;&lt;script&gt;x&lt;/script&gt; [link](https://evil.example) &lt;https://evil|here&gt; ` *a* _b_ <a href="https://ok.example/a_(b)">ok</a>',
    "thread": {"title": "#2 ]] ** __ <script>", "external_url": "https://github.com/acme/widgets/pull/2"},
    "external_thread_id": "t2",
    "uuid": "u-3",
}


# Markup that would be live in each format: a link or tag from payload text (an escaped one, \[ or &lt;, is text).
LIVE_MARKDOWN = re.compile(r"(?<!\\)\]\((https://evil|javascript)|(?<!\\)<https://evil|(?<!\\)\*\*?bold(?<!\\)\*")
LIVE = {
    "slack": (lambda body: json.dumps(body), re.compile(r"<https://evil|<script>|</a>")),
    "mattermost": (lambda body: json.dumps(body), LIVE_MARKDOWN),
    "teams": (lambda body: json.dumps(body), LIVE_MARKDOWN),
    "discord": (lambda body: json.dumps(body["embeds"][0]["description"]), LIVE_MARKDOWN),
    "zulip": (lambda body: body["content"], LIVE_MARKDOWN),
    "matrix": (lambda body: body["formatted_body"], re.compile(r"<script>|href=\"(javascript|https://evil)")),
}


@pytest.mark.parametrize("name", LIVE)
def test_payload_markup_cannot_break_out_of_the_chats_format(offline, name):
    shown, live = LIVE[name]
    sent = shown(body_of(built(offline, name, BREAKOUT)))
    assert not live.search(sent), sent
    # Our own link survives, its parentheses kept inside the target.
    assert "ok.example/a_" in sent


def test_matrix_puts_with_the_messages_uuid_so_a_retry_is_the_same_transaction(offline):
    first, again = built(offline, "matrix", BIG_CHAT), built(offline, "matrix", BIG_CHAT)
    other = built(offline, "matrix", {**BIG_CHAT, "uuid": "u-other"})
    assert first.method == "PUT" and first.url == again.url and first.url.endswith("/send/m.room.message/u-chat")
    assert other.url != first.url
    assert "/rooms/%21ops%3Adevflow/" in first.url


CARD = {
    "event": "activity",
    "title": "pushed new commits",
    "author": {"name": "octocat"},
    "body": "<p>the change</p>",
    "thread": {
        "title": "#7 Fix it",
        "body": "<p>the description</p>",
        "status": {"value": "open", "color": "green"},
        "fields": [{"label": "Repo", "value": "a/b"}],
    },
    "external_thread_id": "github:a/b:pull:7",
    "uuid": "u-7",
}


@pytest.mark.parametrize(
    "name, where",
    [
        ("slack-bot", lambda r: r.json["thread_ts"]),
        ("mattermost-api", lambda r: r.json["root_id"]),
        ("matrix", lambda r: r.json["m.relates_to"]["event_id"]),
    ],
)
def test_a_known_root_makes_a_reply_under_it(offline, name, where):
    assert where(built(offline, name, CARD, root="ROOT-1")) == "ROOT-1"
    whole = json.dumps(built(offline, name, CARD).json)
    assert "ROOT-1" not in whole and "the change" in whole


def test_zulip_tells_each_item_in_its_own_topic_and_chat_in_the_configured_one(offline):
    assert built(offline, "zulip", CARD).form["topic"] == "#7 Fix it"
    assert built(offline, "zulip", BIG_CHAT).form["topic"] == "hookdock"
    assert len(built(offline, "zulip", BIG_CARD).form["topic"]) == 60


def test_the_root_is_redrawn_in_place_where_the_api_allows(offline):
    for name, method, path in (("slack-bot", "POST", "/api/chat.update"), ("mattermost-api", "PUT", "/api/v4/posts/ROOT-1/patch")):
        settings = offline.targets[name]
        [update] = module_of(settings).followups(settings, CARD, Sending("ROOT-1"))
        assert (update.method, update.url.removeprefix("http://127.0.0.1:9")) == (method, path)
        assert "the description" in json.dumps(update.json)  # the whole item, not the change
        assert module_of(offline.targets[name.split("-")[0]]).followups(offline.targets[name.split("-")[0]], CARD, Sending("ROOT-1")) == []


@pytest.mark.parametrize("name, colour", [("slack", "#2ea043"), ("mattermost", "#2ea043"), ("discord", 0x2EA043), ("teams", "Good"), ("matrix", "#2ea043")])
def test_the_status_colour_reaches_each_chat(offline, name, colour):
    sent = json.dumps(body_of(built(offline, name, CARD)))
    assert (str(colour) if isinstance(colour, int) else colour) in sent


def test_markdown_links_fall_back_to_text_where_the_url_would_end_the_link_early():
    assert markdown_link("t", "https://a.example/x") == "[t](https://a.example/x)"
    assert markdown_link("t", "https://a.example/x)y") == "t" and markdown_link("t", None) == "t"
    actions = [("<b>Open</b>", "https://a.example/1"), ("Skipped", "https://a.example/a b"), ("a_b", "https://a.example/2")]
    assert markdown_actions(actions) == "[Open](https://a.example/1) · [a\\_b](https://a.example/2)"
