"""Filters for template authors: short ids, plurals, safe chat and HTML text, links, relative time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from markupsafe import Markup, escape

# "@nick" and "#tag" at the start of a word; not inside e-mail addresses or URL fragments.
MENTION_OR_TAG = re.compile(r"(?<![\w/.:#@])([@#])(?=\w)")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ZERO_WIDTH_SPACE = "\u200b"
AGO_UNITS = ((86400 * 365, "year"), (86400 * 30, "month"), (86400 * 7, "week"), (86400, "day"), (3600, "hour"), (60, "minute"))


def short_sha(value: str, length: int = 7) -> str:
    """The abbreviated commit id people recognise."""
    return str(value or "")[:length]


def first_line(value: str) -> str:
    """A commit message's subject line."""
    text = str(value or "").strip()
    return text.splitlines()[0] if text else ""


def pluralize(count: int, singular: str = "", plural: str = "s") -> str:
    """'' or 's' (or the given forms) to agree with count."""
    return singular if count == 1 else plural


def quiet(value: str) -> str:
    """Payload text that cannot ping anyone or add tags: @all, @nick and #tag arrive as plain text."""
    return MENTION_OR_TAG.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, str(value or ""))


def quiet_all(value):
    """A copy of a payload with every string quieted, so no template can ping from payload text."""
    if isinstance(value, str):
        return quiet(value)
    if isinstance(value, dict):
        return {key: quiet_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [quiet_all(item) for item in value]
    return value


def chat(value: str) -> str:
    """Payload text made safe for chat: no control characters (mentions are the route's call: allow_mentions)."""
    return CONTROL.sub("", str(value or ""))


def html(value: str, limit: int = 1500) -> str:
    """Payload text made safe for an HTML body: cut, escaped, line breaks kept."""
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return str(escape(text)).replace("\n", "<br>")


def link(url: str, text: str | None = None) -> Markup:
    """An HTML link with escaped text; only http(s) URLs become links."""
    label = escape(text if text is not None else url)
    if not str(url or "").startswith(("https://", "http://")):
        return Markup(label)
    return Markup('<a href="{}">{}</a>').format(url, label)


def ago(value: str | int | float, now: datetime | None = None) -> str:
    """'3 hours ago' from an ISO time or a Unix time, as GitHub payloads carry both."""
    try:
        when = datetime.fromtimestamp(float(value), UTC) if isinstance(value, (int, float)) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        return str(value or "")
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    for size, unit in AGO_UNITS:
        if abs(seconds) >= size:
            count = int(abs(seconds) // size)
            return f"{count} {unit}{pluralize(count)} {'ago' if seconds >= 0 else 'from now'}"
    return "just now"


FILTERS = {"short_sha": short_sha, "first_line": first_line, "pluralize": pluralize, "quiet": quiet, "chat": chat, "html": html, "link": link, "ago": ago}
