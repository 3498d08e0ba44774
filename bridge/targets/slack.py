"""Slack: Block Kit by incoming webhook (`url`), or by a bot token (`token` + `channel`) that can thread and update.

An incoming webhook answers "ok" and no message id, so each change is a card of its own. With a bot
token, chat.postMessage returns the message's ts: the first card of an item becomes the thread's
root, later changes reply under it, and chat.update redraws the root with the item's newest state.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, bearer, error_text, json_of, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import escape_mrkdwn, fit, from_html, from_text, unslack

if TYPE_CHECKING:
    import requests

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks a message, 3000
# characters of section text, 10 section fields of 2000, 25 elements in an actions block, button
# text 75 (plain text), button url 3000.
MAX_BLOCKS, SECTION_TEXT, MAX_FIELDS, FIELD_TEXT, MAX_BUTTONS, BUTTON_TEXT, BUTTON_URL = 50, 3000, 10, 2000, 25, 75, 3000
# The top-level text is the notification and the fallback where blocks cannot show.
FALLBACK_TEXT = 3000
ROOTS = True
# Slack's own mention syntax, left alone when a route allows mentions: <!here>, <!channel>, <@U123>, <!subteam^S1>.
MENTIONS = re.compile(r"<(?:![a-z]+(?:\^[A-Z0-9]+)?|@[UW][A-Z0-9]+)(?:\|[^<>]*)?>")
# Web API errors worth another try (https://api.slack.com/methods/chat.postMessage#errors); every other one is permanent.
RETRY_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class Settings(TargetSettings):
    """An incoming webhook URL, or a bot token and a channel id."""

    type: Literal["slack"]
    url: Secret | None = None
    token: Secret | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def webhook_or_bot(self) -> Settings:
        """Exactly one way in: a webhook url, or a token with a channel."""
        if (self.url is None) == (self.token is None):
            raise ValueError("give url (an incoming webhook) or token with channel (a bot), not both or neither")
        if self.token is not None and not self.channel:
            raise ValueError("a token needs channel (the channel id, like C0123456789)")
        return self

    def urls(self) -> dict[str, str]:
        """The webhook URL, or the Web API's base."""
        return {"url": self.url.get_secret_value()} if self.url is not None else {"api_url": self.api_url}


def text_of(text: str, keep: re.Pattern | None, limit: int = SECTION_TEXT) -> str:
    """Plain text as mrkdwn of at most limit characters."""
    return fit(lambda t: from_text(t, "mrkdwn", keep), text, limit)


def html_of(markup: str, keep: re.Pattern | None, limit: int = SECTION_TEXT) -> str:
    """Our HTML as mrkdwn of at most limit characters."""
    return fit(lambda t: from_html(t, "mrkdwn", keep), markup, limit)


def section(text: str) -> dict:
    """A section block of mrkdwn."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def chat_sections(text: str, keep: re.Pattern | None) -> list[dict]:
    """Chat text in sections of whole lines, each within Slack's section limit."""
    chunks: list[str] = []
    for line in text.split("\n"):
        converted = text_of(line, keep)
        if chunks and len(chunks[-1]) + 1 + len(converted) <= SECTION_TEXT:
            chunks[-1] += "\n" + converted
        else:
            chunks.append(converted)
    return [section(chunk) for chunk in chunks if chunk.strip()][:MAX_BLOCKS] or [section(" ")]


def headline(card: Card, keep: re.Pattern | None) -> str:
    """Who did what, then the item as a link."""
    line = f"*{text_of(card.author, keep, 200)}* {html_of(card.summary, keep, 500)}".strip()
    if card.reply or not card.title:
        return line
    # The title as plain text: a link inside a link would end it early.
    title = text_of(from_html(card.title, "plain"), keep, 500)
    return f"{line}\n*<{escape_mrkdwn(card.url)}|{title}>*" if card.url and len(card.url) < 1000 else f"{line}\n*{title}*"


def attachment(card: Card, keep: re.Pattern | None) -> dict:
    """The item's state in a coloured attachment: status, body, fields and buttons."""
    blocks: list[dict] = []
    if card.status:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{text_of(card.status, keep, 200)}*"}]})
    if card.body.strip():
        blocks.append(section(html_of(card.body, keep)))
    if card.fields and not card.reply:
        fields = [{"type": "mrkdwn", "text": f"*{html_of(label, keep, 200)}*\n{html_of(value, keep, FIELD_TEXT - 210)}"} for label, value in card.fields]
        blocks.append({"type": "section", "fields": fields[:MAX_FIELDS]})
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": fit(lambda t: t, from_html(name, "plain") or url, BUTTON_TEXT)}, "url": url}
        for name, url in card.actions
        if len(url) <= BUTTON_URL
    ]
    if buttons and not card.reply:
        blocks.append({"type": "actions", "elements": buttons[:MAX_BUTTONS]})
    return {"color": card.hex_colour or "#8b949e", "blocks": blocks, "fallback": fit(lambda t: unslack(from_html(t, "plain")), card.title or card.summary, 500)}


def payload(card: Card, keep: re.Pattern | None) -> dict:
    """A message: blocks and the plain-text fallback, and for an item an attachment in its status colour."""
    if card.is_chat:
        return {"text": text_of(card.text or "", keep, FALLBACK_TEXT), "blocks": chat_sections(card.text or "", keep)}
    top = headline(card, keep)
    message = {"text": top[:FALLBACK_TEXT], "blocks": [section(top)]}
    extra = attachment(card, keep)
    return {**message, "attachments": [extra]} if extra["blocks"] else message


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """A webhook post, or chat.postMessage (under the thread's root when there is one)."""
    keep = MENTIONS if sending.allow_mentions else None
    body = payload(card_of(message, sending.root, sending.allow_mentions), keep)
    if settings.url is not None:
        return Request("POST", settings.url.get_secret_value(), json=body)
    assert settings.token is not None  # the validator gives a token where there is no url
    extra = {"thread_ts": sending.root} if sending.root else {}
    return Request(
        "POST", f"{settings.api_url.rstrip('/')}/chat.postMessage", json={**body, "channel": settings.channel, **extra}, headers=bearer(settings.token)
    )


def followups(settings: Settings, message: dict, sending: Sending) -> list[Request]:
    """With a bot token, a reply also redraws the root with the item's newest state (chat.update)."""
    if settings.token is None or not sending.root or "thread" not in message:
        return []
    body = payload(card_of(message, None, sending.allow_mentions, item=True), MENTIONS if sending.allow_mentions else None)
    update = {**body, "channel": settings.channel, "ts": sending.root}
    return [Request("POST", f"{settings.api_url.rstrip('/')}/chat.update", json=update, headers=bearer(settings.token))]


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """A webhook's status, or the Web API's {"ok": false, "error": ...} inside a 200."""
    status, data = response.status_code, json_of(response)
    kind = kind_of(status)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if kind == "delivered" and data.get("ok") is False:
        kind = "retry" if data.get("error") in RETRY_ERRORS else "permanent"
    if kind == "delivered":
        ts = data.get("ts")
        return Outcome(kind, status, duration_ms, message_id=ts if isinstance(ts, str) else None)
    return Outcome(kind, status, duration_ms, error_text(response, secrets), retry_after)
