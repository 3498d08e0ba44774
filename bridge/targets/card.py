"""A rendered message as every chat but Flowdock reads it: chat text, or a card telling an item's change.

compose() (bridge/messages.py) makes Flowdock's message body: chat text, or an activity with the
item's thread state. A Card is the same, read once for the other targets: the headline of the
change, the item's title, link, status with colour, fields, actions, and a body. A reply (the
thread's root message is known) carries only what changed; a whole card carries the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.filters import unmention

# Flowdock's thread status colours as RGB, for chats that take any colour.
COLOURS = {
    "red": "#d33a2c",
    "green": "#2ea043",
    "yellow": "#d4b106",
    "cyan": "#17a2b8",
    "orange": "#e8730c",
    "grey": "#8b949e",
    "black": "#24292f",
    "lime": "#7cc42a",
    "purple": "#8250df",
    "blue": "#316dca",
}


@dataclass
class Card:
    """What a chat shows for one message; every text but author and chat text is HTML (links and escaped text)."""

    text: str | None = None
    author: str = ""
    summary: str = ""
    title: str = ""
    url: str | None = None
    body: str = ""
    status: str = ""
    colour: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    thread_id: str | None = None
    reply: bool = False

    @property
    def is_chat(self) -> bool:
        """True for a chat message (text only), False for an item's card."""
        return self.text is not None

    @property
    def hex_colour(self) -> str | None:
        """The status colour as #rrggbb."""
        return COLOURS.get(self.colour or "")


def card_of(message: dict, root: str | None = None, allow_mentions: bool = False, item: bool = False) -> Card:
    """The Card of a composed message; root is the thread's first message in the chat, if known.

    A reply's body is what changed; a whole card's is that, or the item's own when the change has none;
    item=True draws the item itself (its body), for redrawing a thread's root in place.
    """
    # "@" before a name is the sign every chat's plain mention starts with (@here, @channel, @everyone, @room, @user:server).
    quiet = (lambda text: text) if allow_mentions else unmention
    if "thread" not in message:
        return Card(text=quiet(str(message.get("content") or "")))
    thread = message.get("thread") or {}
    status = thread.get("status") or {}
    reply = root is not None
    body = thread.get("body") if item else message.get("body") or ("" if reply else thread.get("body"))
    return Card(
        author=quiet(str((message.get("author") or {}).get("name") or "")),
        summary=quiet(str(message.get("title") or "")),
        title=quiet(str(thread.get("title") or "")),
        url=thread.get("external_url"),
        body=quiet(str(body or "")),
        status=quiet(str(status.get("value") or "")),
        colour=status.get("color"),
        fields=[(quiet(f["label"]), quiet(f["value"])) for f in thread.get("fields") or [] if isinstance(f, dict)],
        actions=[(quiet(str(a.get("name") or a.get("url"))), a["url"]) for a in thread.get("actions") or [] if isinstance(a, dict) and a.get("url")],
        thread_id=message.get("external_thread_id"),
        reply=reply,
    )
