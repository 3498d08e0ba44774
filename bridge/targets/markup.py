"""Our text and HTML in each chat's own format, escaped so that payload text cannot break out of it.

Templates render chat text (plain) and thread cards whose titles, fields and bodies are HTML with
escaped payload text and links (bridge/links.py keeps only http(s) ones). Here that HTML is read
into parts (text, links, line breaks) and written out again as plain text, Slack mrkdwn, Markdown
or Matrix HTML; every piece of text is escaped for the format it lands in.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import quote

from bridge.filters import is_web_url
from bridge.payload import cut

# Tags that end a line, and those that start a list item.
BREAKS = {"br", "p", "div", "ul", "ol", "blockquote", "pre", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
URL = re.compile(r"https?://[^\s<>]+")
# Markdown's active characters (Discord, Zulip, Mattermost and Teams all read these), and "#" where it starts
# a heading; a backslash makes each literal.
MARKDOWN_ACTIVE = re.compile(r"([\\`*_~|<>\[\]]|^#|(?<=\n)#)")
# Slack's mention syntax (<!channel>, <!here|here>, <@U123>) where plain text lands: Mattermost expands it in
# attachment titles too, and a fallback may be read by clients that do.
SLACK_SYNTAX = re.compile(r"<(?=[!@])")


class _Reader(HTMLParser):
    """Collects (text, href) pieces; href is None for plain text and "\n" pieces are line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, str | None]] = []
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "a":
            self.href = next((v for k, v in attrs if k == "href" and v), "") or ""
            self.link_text = []
        elif tag in BREAKS:
            self.parts.append(("\n", None))
        elif tag == "li":
            self.parts.append(("\n• ", None))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href is not None:
            text = "".join(self.link_text)
            self.parts.append((text, self.href if is_web_url(self.href) else None))
            self.href = None
        elif tag in BREAKS - {"br"}:
            self.parts.append(("\n", None))

    def handle_data(self, data: str) -> None:
        if self.href is not None:
            self.link_text.append(data)
        else:
            self.parts.append((data, None))


def parts(markup: str) -> list[tuple[str, str | None]]:
    """Text and link pieces of an HTML fragment; other tags keep their text only."""
    reader = _Reader()
    reader.feed(markup or "")
    reader.close()
    if reader.href is not None:  # an unclosed link keeps its text
        reader.parts.append(("".join(reader.link_text), None))
    return reader.parts


def _tidy(text: str) -> str:
    """At most one blank line in a row, no spaces at line ends, none at either end."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters as entities: no <!channel>, <@U123> or <url|link> from payload text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unslack(text: str) -> str:
    """Plain text in which "<!" and "<@" no longer start Slack's mention syntax (a zero-width space follows "<")."""
    return SLACK_SYNTAX.sub("<\u200b", text)


def escape_markdown(text: str) -> str:
    """Markdown's active characters made literal, bare URLs left whole so they still link."""
    out, last = [], 0
    for match in URL.finditer(text):
        out += [MARKDOWN_ACTIVE.sub(r"\\\1", text[last : match.start()]), match.group(0)]
        last = match.end()
    return "".join(out + [MARKDOWN_ACTIVE.sub(r"\\\1", text[last:])])


def escape_html(text: str) -> str:
    """Text for an HTML body: escaped, line breaks kept."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def _plain_link(text: str, href: str) -> str:
    return href if not text.strip() or text.strip() == href else f"{text} ({href})"


def _mrkdwn_link(text: str, href: str) -> str:
    return f"<{escape_mrkdwn(href)}|{escape_mrkdwn(text.replace('|', '/'))}>" if text.strip() else f"<{escape_mrkdwn(href)}>"


def _markdown_link(text: str, href: str) -> str:
    # Parentheses and spaces would end the link target early: percent-encode them.
    target = quote(href, safe=":/?#&=%+@!$',;~*._-")
    return f"[{escape_markdown(text) or target}]({target})"


def markdown_link(label: str, url: str | None) -> str:
    """label (Markdown already) linked to url; label alone when there is none, or a space or ")" in it would end the link early."""
    return f"[{label}]({url})" if url and linkable(url) else label


def linkable(url: str) -> bool:
    """True when url can stand as a Markdown link's target as it is."""
    return " " not in url and ")" not in url


def markdown_actions(actions: list[tuple[str, str]], name: Callable[[str], str] | None = None) -> str:
    """A card's actions as Markdown links joined by " · "; name makes an action's HTML name plain text (default: all of it)."""
    plain = name or (lambda markup: from_html(markup, "plain"))
    return " · ".join(markdown_link(escape_markdown(plain(label)), url) for label, url in actions if linkable(url))


def _html_link(text: str, href: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{escape_html(text or href)}</a>'


# Each format: how text is escaped and how a link is written.
FORMATS: dict[str, tuple[Callable[[str], str], Callable[[str, str], str]]] = {
    "plain": (lambda text: text, _plain_link),
    "mrkdwn": (escape_mrkdwn, _mrkdwn_link),
    "markdown": (escape_markdown, _markdown_link),
    "html": (escape_html, _html_link),
}


def keeping(escape: Callable[[str], str], keep: re.Pattern | None) -> Callable[[str], str]:
    """escape, but leaving whatever keep matches as it is (a chat's mention syntax, when a route allows mentions)."""
    if keep is None:
        return escape

    def escaped(text: str) -> str:
        out, last = [], 0
        for match in keep.finditer(text):
            out += [escape(text[last : match.start()]), match.group(0)]
            last = match.end()
        return "".join(out + [escape(text[last:])])

    return escaped


def from_html(markup: str, fmt: str, keep: re.Pattern | None = None) -> str:
    """An HTML fragment of ours in one format ("plain", "mrkdwn", "markdown" or "html")."""
    escape, link = FORMATS[fmt]
    escape = keeping(escape, keep)
    out = "".join(link(text, href) if href else escape(text) for text, href in parts(markup))
    return out if fmt == "html" else _tidy(out)


def from_text(text: str, fmt: str, keep: re.Pattern | None = None) -> str:
    """Plain chat text in one format."""
    return keeping(FORMATS[fmt][0], keep)(text)


def fit(convert: Callable[[str], str], text: str, limit: int) -> str:
    """convert(text) in at most limit characters: the source is cut (and marked), so no escape or link is cut in half."""
    out, budget = convert(text), limit
    while len(out) > limit and budget > 0:
        out = convert(cut(text, budget))
        # Escaping made it longer than its source: shorten the source by the overshoot and try again.
        budget -= max(1, len(out) - limit)
    return out if len(out) <= limit else ""
