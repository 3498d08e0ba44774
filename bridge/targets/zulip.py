"""Zulip: stream messages by a bot's e-mail and API key; an item's thread title is the topic, so each item gets its own.

Chat messages go to the configured topic. An item's first message carries its whole card; later
changes in the same topic carry what changed (the first message's id is remembered as the root).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, error_text, json_of, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import fit, from_html, from_text, markdown_actions, markdown_link

if TYPE_CHECKING:
    import requests

# https://zulip.com/api/send-message: a topic holds at most 60 characters, content at most 10000
# (max_topic_length and max_message_length, counted in Unicode code points: https://zulip.com/api/register-queue).
MAX_TOPIC, MAX_CONTENT = 60, 10000
ROOTS = True
# Zulip's mentions: @**name**, @_**name** (silent), @*group*; kept as they are when a route allows mentions.
MENTIONS = re.compile(r"@_?\*\*[^*\n]+\*\*|@_?\*[^*\n]+\*")


class Settings(TargetSettings):
    """The organisation's URL, a bot's e-mail and API key, the stream, and the topic of chat messages."""

    type: Literal["zulip"]
    site: str
    email: str
    api_key: Secret
    stream: str
    topic: str = "hookdock"

    def urls(self) -> dict[str, str]:
        """The organisation's URL."""
        return {"site": self.site}


def topic_of(card: Card, default: str) -> str:
    """The item's title as a topic (plain text, cut to Zulip's length), or the chat topic."""
    if card.is_chat or not card.title:
        return default[:MAX_TOPIC]
    title = " ".join(from_html(card.title, "plain").split())
    return fit(lambda t: t, title, MAX_TOPIC) or default[:MAX_TOPIC]


def content_of(card: Card, keep: re.Pattern | None) -> str:
    """The message in Zulip Markdown, within its length."""
    if card.is_chat:
        return fit(lambda t: from_text(t, "markdown", keep), card.text or "", MAX_CONTENT)
    lines = [f"**{from_text(card.author, 'markdown', keep)}** {from_html(card.summary, 'markdown', keep)}".strip()]
    if not card.reply:
        title = from_text(from_html(card.title, "plain"), "markdown", keep)
        lines.append(f"**{markdown_link(title, card.url)}**" + (f" · {from_html(card.status, 'markdown', keep)}" if card.status else ""))
        lines += [f"- **{from_html(label, 'markdown', keep)}**: {from_html(value, 'markdown', keep)}" for label, value in card.fields]
        links = markdown_actions(card.actions)
        lines += [links] if links else []
    elif card.status:
        lines.append(f"· {from_html(card.status, 'markdown', keep)}")
    head = "\n".join(line for line in lines if line)
    body = fit(lambda t: from_html(t, "markdown", keep), card.body, max(0, MAX_CONTENT - len(head) - 2)) if card.body.strip() else ""
    return fit(lambda t: t, f"{head}\n\n{body}" if body else head, MAX_CONTENT)


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """POST /api/v1/messages, form-encoded as Zulip's API takes it, with Basic auth of e-mail and API key."""
    keep = MENTIONS if sending.allow_mentions else None
    card = card_of(message, sending.root, sending.allow_mentions)
    form = {"type": "stream", "to": settings.stream, "topic": topic_of(card, settings.topic), "content": content_of(card, keep)}
    auth = (settings.email.encode(), settings.api_key.get_secret_value().encode())
    return Request("POST", f"{settings.site.rstrip('/')}/api/v1/messages", form=form, auth=auth)


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """The contract's table; the message id of {"result": "success", "id": 42} is kept."""
    status, data = response.status_code, json_of(response)
    kind = kind_of(status)
    if kind == "delivered" and data.get("result") == "error":
        kind = "permanent"
    if kind == "delivered":
        found = data.get("id")
        return Outcome(kind, status, duration_ms, message_id=found if isinstance(found, int) else None)
    return Outcome(kind, status, duration_ms, error_text(response, secrets), parse_retry_after(response.headers.get("Retry-After")))
