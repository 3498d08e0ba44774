"""Mattermost: its Slack-compatible attachments by incoming webhook (`url`), or by the REST API (`server` + `token` + `channel_id`) that can thread and update.

An incoming webhook answers "ok" and no post id, so each change is a card of its own. With a bot
or personal access token, POST /api/v4/posts returns the post: the first card of an item becomes
the thread's root, later changes reply under it (root_id), and the root is patched with the
item's newest state.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from pydantic import model_validator

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, bearer, error_text, json_of, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import fit, from_html, from_text, markdown_actions, unslack

if TYPE_CHECKING:
    import requests

# A post's message holds at most 16383 characters (https://developers.mattermost.com/integrate/webhooks/incoming/);
# attachment text is kept well inside that, and fields short.
MAX_MESSAGE, ATTACHMENT_TEXT, FIELD_TEXT, MAX_FIELDS = 16383, 6000, 1000, 20
ROOTS = True
# Mattermost mentions are @name (and @channel, @all, @here); kept as they are when a route allows mentions.
MENTIONS = re.compile(r"@[a-z0-9][a-z0-9._-]*", re.IGNORECASE)


class Settings(TargetSettings):
    """An incoming webhook URL, or a server with a token and a channel id."""

    type: Literal["mattermost"]
    url: Secret | None = None
    server: str | None = None
    token: Secret | None = None
    channel_id: str | None = None

    @model_validator(mode="after")
    def webhook_or_api(self) -> Settings:
        """Exactly one way in: a webhook url, or server, token and channel_id."""
        if (self.url is None) == (self.token is None):
            raise ValueError("give url (an incoming webhook) or server with token and channel_id, not both or neither")
        if self.token is not None and not (self.server and self.channel_id):
            raise ValueError("a token needs server (https://chat.example.com) and channel_id")
        return self

    def urls(self) -> dict[str, str]:
        """The webhook URL, or the server's."""
        return {"url": self.url.get_secret_value()} if self.url is not None else {"server": self.server or ""}


def markdown(markup: str, keep: re.Pattern | None, limit: int) -> str:
    """Our HTML as Markdown of at most limit characters."""
    return fit(lambda t: from_html(t, "markdown", keep), markup, limit)


def plain(markup: str) -> str:
    """Our HTML as plain text that Mattermost's Slack compatibility cannot turn into a mention (<!channel>, <@id>)."""
    return unslack(from_html(markup, "plain"))


def attachment(card: Card, keep: re.Pattern | None) -> dict:
    """The item in its status colour: title and link, body, fields, status; actions as links."""
    links = markdown_actions(card.actions)
    text = "\n\n".join(part for part in (markdown(card.body, keep, ATTACHMENT_TEXT), "" if card.reply else links) if part)
    found: dict = {
        "fallback": fit(plain, f"{card.summary} {card.title}", 500),
        "color": card.hex_colour or "#8b949e",
        "text": text,
    }
    if not card.reply:
        found["title"] = fit(plain, card.title, 500)
        if card.url:
            found["title_link"] = card.url
        fields = [{"title": fit(plain, label, 200), "value": markdown(value, keep, FIELD_TEXT), "short": True} for label, value in card.fields]
        found["fields"] = fields[:MAX_FIELDS]
    if card.status:
        found["footer"] = fit(plain, card.status, 200)
    return found


def post(card: Card, keep: re.Pattern | None) -> tuple[str, list[dict]]:
    """The message text and attachments of a card."""
    if card.is_chat:
        return fit(lambda t: from_text(t, "markdown", keep), card.text or "", MAX_MESSAGE), []
    line = f"**{from_text(card.author, 'markdown', keep)}** {markdown(card.summary, keep, 1000)}".strip()
    return line, [attachment(card, keep)]


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """A webhook post, or POST /api/v4/posts (under the thread's root when there is one)."""
    keep = MENTIONS if sending.allow_mentions else None
    text, attachments = post(card_of(message, sending.root, sending.allow_mentions), keep)
    if settings.url is not None:
        return Request("POST", settings.url.get_secret_value(), json={"text": text, **({"attachments": attachments} if attachments else {})})
    body = {"channel_id": settings.channel_id, "message": text, "props": {"attachments": attachments}}
    if sending.root:
        body["root_id"] = sending.root
    return Request("POST", f"{(settings.server or '').rstrip('/')}/api/v4/posts", json=body, headers=bearer(settings.token))


def followups(settings: Settings, message: dict, sending: Sending) -> list[Request]:
    """Through the API, a reply also patches the root with the item's newest state."""
    if settings.token is None or not sending.root or "thread" not in message:
        return []
    text, attachments = post(card_of(message, None, sending.allow_mentions, item=True), MENTIONS if sending.allow_mentions else None)
    url = f"{(settings.server or '').rstrip('/')}/api/v4/posts/{quote(sending.root, safe='')}/patch"
    return [Request("PUT", url, json={"message": text, "props": {"attachments": attachments}}, headers=bearer(settings.token))]


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """The contract's table; the API's post id is kept."""
    status = response.status_code
    kind = kind_of(status)
    if kind == "delivered":
        found = json_of(response).get("id")
        return Outcome(kind, status, duration_ms, message_id=found if isinstance(found, str) else None)
    return Outcome(kind, status, duration_ms, error_text(response, secrets), parse_retry_after(response.headers.get("Retry-After")))
