"""Filters for template authors: short ids, plurals, safe chat and HTML text, links, relative time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

# Flowdock's mention and tag parser (flowdock-text) reads "@name" and "#name" after any character that is
# not a letter, digit, "_", "&" or "/": "cc:@all", "x.@all", "@@team" and "#@here" all ping. A sign is
# left alone only after one of those characters, or when no name follows; any other sign gets a
# zero-width space after it. Full-width signs count too. Its older mention rule also reads "@" after
# a Latin-1 letter ("é@x"), so only ASCII ones protect an "@"; "/" still does, or URLs such as
# npm's /@scope/name would break. A name starts with a word character or one of the parser's own
# non-Latin ranges (some are not \w).
NAME_START = (
    r"[\w\u00bf\u0400-\u0527\u1100-\u11ff\u2de0-\u2dff\u3003\u3005\u303b\u3041-\u3096\u3099-\u309e\u30a1-\u30fe"
    r"\u3130-\u3185\u3400-\u4dbf\u4e00-\u9fff\ua640-\ua69f\ua960-\ua97f\uac00-\ud7ff\uff10-\uff19\uff21-\uff3a"
    r"\uff41-\uff5a\uff66-\uff9f\uffa1-\uffdc\U0002a700-\U0002b81f\U0002f800-\U0002fa1f]"
)
MENTION_OR_TAG = re.compile(r"((?<![A-Za-z0-9_&/])[@\uff20]|(?<![A-Za-z0-9_&/\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00fe])[#\uff03])(?=" + NAME_START + ")")
# An "@" that Flowdock would read as a mention (the first half of MENTION_OR_TAG).
MENTION = re.compile(r"((?<![A-Za-z0-9_&/])[@\uff20])(?=" + NAME_START + ")")
# A "#" that Flowdock would read as a tag: its name holds a letter ("#42" is no tag, "#False" is).
TAG = re.compile(r"((?<![A-Za-z0-9_&/\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00fe])[#\uff03])(?=\d*[^\W\d])")
# Terminal escapes (CSI, OSC, and the two-character forms), then any control character but tab and line ends.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides, isolates and marks: they make text read differently from what it is;
# and invisible characters that hide text in plain sight (byte order mark, word joiner and invisible
# operators, Unicode tag characters). Joiners inside emoji (U+200C, U+200D) stay.
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff\u2060-\u2064\U000e0000-\U000e007f]")
# Line ends a terminal or a chat reads differently: a lone carriage return rewrites its line.
ODD_LINE_END = re.compile(r"\r(?!\n)|[\u2028\u2029]")
# Half of a UTF-16 pair cannot be encoded: it would break every JSON encoder and store downstream.
SURROGATE = re.compile(r"[\ud800-\udfff]")
UNSAFE = re.compile("|".join(pattern.pattern for pattern in (ANSI, CONTROL, BIDI, SURROGATE, ODD_LINE_END)))
# Every UNSAFE match starts with one of these characters. One character class is searched several times
# faster than UNSAFE's alternation, and every string of every payload is checked, so clean text is told by it alone.
UNSAFE_START_CHARS = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff\u2060-\u2064\U000e0000-\U000e007f\ud800-\udfff\u2028\u2029"
UNSAFE_START = re.compile(f"[{UNSAFE_START_CHARS}]")
SIGN_CHARS = "@#\uff20\uff03"
SIGN = re.compile(f"[{SIGN_CHARS}]")
# Text with none of these needs neither chat() nor quiet(): most payload strings (URLs, ids, names), told in one search.
UNSAFE_OR_SIGN = re.compile(f"[{UNSAFE_START_CHARS}{SIGN_CHARS}]")
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


def untag(value: str) -> str:
    """Rendered text in which no "#word" becomes a tag, wherever its parts came from; "#42" stays as it is."""
    return TAG.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, value) if "#" in value or "\uff03" in value else value


def unmention(value: str) -> str:
    """Rendered text in which no "@name" pings anyone; "#word" stays as it is (chats other than Flowdock have no tags)."""
    return MENTION.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, value) if "@" in value or "\uff20" in value else value


def hush(value: str) -> str:
    """Rendered text in which no "@name" pings and no "#word" tags, wherever its parts came from.

    Quieting the payload is not enough: a source may cut "refs/heads/" off "refs/heads/@all" (a "/"
    protects the sign until then), and a template may join text to a sign.
    """
    return untag(unmention(value))


def quiet(value: str) -> str:
    """Payload text that cannot ping anyone or add tags: @all, @nick and #tag arrive as plain text."""
    value = str(value or "")
    if not SIGN.search(value):
        return value
    return MENTION_OR_TAG.sub(lambda m: m.group(1) + ZERO_WIDTH_SPACE, value)


def unsafe(text: str) -> bool:
    """True when text holds something chat() removes or rewrites."""
    return UNSAFE_START.search(text) is not None and UNSAFE.search(text) is not None


def chat(value: str) -> str:
    """Payload text made safe for chat: no terminal escapes, control characters or bidi overrides (mentions: allow_mentions)."""
    text = str(value or "")
    if not unsafe(text):
        return text
    text = ODD_LINE_END.sub("\n", SURROGATE.sub("\ufffd", text))
    return BIDI.sub("", CONTROL.sub("", ANSI.sub("", text)))


def html(value: str, limit: int = 1500) -> str:
    """Payload text made safe for an HTML body: cut, escaped, line breaks kept."""
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return str(escape(text)).replace("\n", "<br>")


def is_web_url(url: object) -> bool:
    """True for an absolute http(s) URL with a host: nothing else may become a link, thread URL or action."""
    if not isinstance(url, str) or url != url.strip() or CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url.lower().startswith(("http://", "https://"))


def link(url: str, text: str | None = None) -> Markup:
    """An HTML link with escaped text; only http(s) URLs become links."""
    label = escape(text if text is not None else url)
    if not is_web_url(url):
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
