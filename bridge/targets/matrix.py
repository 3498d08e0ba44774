"""Matrix: m.room.message events with body and HTML formatted_body, sent by PUT with a transaction id; items as threads.

The transaction id is the delivery's message uuid (the same on every attempt and replay), and a
homeserver answers a repeated PUT of one transaction with the event it already made: a retry can
never post twice. An item's first event becomes its thread's root; later changes are m.thread
replies under it. "m.mentions": {} tells clients the event mentions nobody, which also turns off
the older push rules that ping on "@room" or a user's name in the body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, bearer, error_text, json_of, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import escape_html, fit, from_html

if TYPE_CHECKING:
    import requests

# "The complete event MUST NOT be larger than 65536 bytes" (https://spec.matrix.org/v1.9/client-server-api/#size-limits);
# the homeserver adds ids, signatures and hashes, so the content is kept under 60000.
MAX_CONTENT_BYTES = 60000
BODY_TEXT = 20000
# Thread cards carry a handful of fields and actions; more than this is a template's mistake.
MAX_ITEMS = 25
ROOTS = True


class Settings(TargetSettings):
    """A homeserver, a room id and a bot user's access token."""

    type: Literal["matrix"]
    homeserver: str
    room_id: str
    access_token: Secret

    def urls(self) -> dict[str, str]:
        """The homeserver."""
        return {"homeserver": self.homeserver}


def html(markup: str, limit: int) -> str:
    """Our HTML as Matrix HTML of at most limit characters."""
    return fit(lambda t: from_html(t, "html"), markup, limit)


def html_of(card: Card, limit: int) -> str:
    """The card as Matrix HTML: only tags of the spec's list, every payload text escaped."""
    if card.is_chat:
        return fit(escape_html, card.text or "", limit)
    lines = [f"<strong>{fit(escape_html, card.author, 500)}</strong> {html(card.summary, 1000)}".strip()]
    if card.title:
        title = html(card.title, 1000)
        link = f'<a href="{escape_html(card.url)}">{title}</a>' if card.url else title
        status = (
            f' <font color="{card.hex_colour}" data-mx-color="{card.hex_colour}">{html(card.status, 500)}</font>' if card.status and card.hex_colour else ""
        )
        lines.append(f"<strong>{link}</strong>{status}")
    if card.body.strip():
        lines.append(html(card.body, limit))
    if card.fields and not card.reply:
        # Fields share the text budget, so a card of many long fields still fits an event.
        share = max(50, limit // 10)
        items = "".join(f"<li><strong>{html(label, 200)}</strong>: {html(value, share)}</li>" for label, value in card.fields[:MAX_ITEMS])
        lines.append(f"<ul>{items}</ul>")
    if card.actions and not card.reply:
        lines.append(" · ".join(f'<a href="{escape_html(url)}">{html(name, 200)}</a>' for name, url in card.actions[:MAX_ITEMS]))
    return "<br>".join(line for line in lines if line)


def plain_of(card: Card, limit: int) -> str:
    """The same as plain text, for body (notifications and clients without HTML)."""
    if card.is_chat:
        return fit(lambda t: t, card.text or "", limit)
    return from_html(html_of(card, limit), "plain")


def content(card: Card, root: str | None, allow_mentions: bool, limit: int = BODY_TEXT) -> dict:
    """The event content; a reply in the thread of root when there is one."""
    found: dict = {"msgtype": "m.notice", "body": plain_of(card, limit), "format": "org.matrix.custom.html", "formatted_body": html_of(card, limit)}
    if not allow_mentions:
        found["m.mentions"] = {}
    if root:
        # is_falling_back: clients without threads show it as a reply to the root.
        found["m.relates_to"] = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True, "m.in_reply_to": {"event_id": root}}
    return found


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """PUT the event with the message's uuid as transaction id, shortened until it fits the event size limit."""
    card = card_of(message, sending.root, sending.allow_mentions)
    body, limit = content(card, sending.root, sending.allow_mentions), BODY_TEXT
    while len(json.dumps(body).encode()) > MAX_CONTENT_BYTES and limit > 100:
        limit //= 2
        body = content(card, sending.root, sending.allow_mentions, limit)
    room, txn = quote(settings.room_id, safe=""), quote(str(message.get("uuid")), safe="")
    url = f"{settings.homeserver.rstrip('/')}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"
    return Request("PUT", url, json=body, headers=bearer(settings.access_token))


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """The contract's table; a 429 says how long in retry_after_ms (https://spec.matrix.org/v1.9/client-server-api/#rate-limiting)."""
    status, data = response.status_code, json_of(response)
    kind = kind_of(status)
    if kind == "delivered":
        found = data.get("event_id")
        return Outcome(kind, status, duration_ms, message_id=found if isinstance(found, str) else None)
    wait = data.get("retry_after_ms")
    retry_after = wait / 1000 if isinstance(wait, int) and not isinstance(wait, bool) and wait >= 0 else parse_retry_after(response.headers.get("Retry-After"))
    return Outcome(kind, status, duration_ms, error_text(response, secrets), retry_after)
