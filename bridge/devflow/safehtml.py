"""Flowdock's HTML, made safe to show: an allow-list of tags, only http(s) links, everything else escaped."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from markupsafe import Markup, escape

# The contract: titles and field values may hold links only; bodies may hold HTML.
INLINE_TAGS = frozenset({"a"})
BODY_TAGS = frozenset({"a", "b", "strong", "i", "em", "code", "pre", "br", "p", "ul", "ol", "li", "blockquote"})
VOID_TAGS = frozenset({"br"})
LINK_REL = "noopener noreferrer nofollow"


def inline_html(text: object) -> Markup:
    """A title or field value as the page shows it: links kept, any other markup shown as text."""
    return _clean(text, INLINE_TAGS)


def body_html(text: object) -> Markup:
    """A thread or message body as the page shows it: the allowed tags kept, the rest shown as text."""
    return _clean(text, BODY_TAGS)


def _clean(text: object, allowed: frozenset[str]) -> Markup:
    if not isinstance(text, str):
        return escape("" if text is None else str(text))
    parser = _AllowList(allowed)
    parser.feed(text)
    parser.close()
    return Markup("".join(parser.out))


def is_http_url(url: object) -> bool:
    """True for an http(s) URL: the only kind the page turns into a link."""
    # Autoescaping does not stop javascript: or data: links, so only http(s) may become one.
    return isinstance(url, str) and urlsplit(url.strip()).scheme.lower() in ("http", "https")


class _AllowList(HTMLParser):
    """Re-emit allowed tags without their attributes (but a safe href), escape all other markup, balance what it opens."""

    def __init__(self, allowed: frozenset[str]):
        super().__init__(convert_charrefs=True)
        self.allowed = allowed
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.allowed:
            self.out.append(escape(self.get_starttag_text() or f"<{tag}>"))
        elif tag in VOID_TAGS:
            self.out.append(f"<{tag}>")
        elif tag == "a":
            href = dict(attrs).get("href")
            self.out.append(f'<a href="{escape(href.strip())}" rel="{LINK_REL}">' if is_http_url(href) else "<a>")
            self.open.append(tag)
        else:
            self.out.append(f"<{tag}>")
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self.allowed and tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.allowed:
            self.out.append(escape(f"</{tag}>"))
        elif tag in self.open:
            # Close what was left open inside it, so the page's own markup is never unbalanced.
            while (inner := self.open.pop()) != tag:
                self.out.append(f"</{inner}>")
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data))

    def handle_comment(self, data: str) -> None:
        self.out.append(escape(f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.out.append(escape(f"<!{decl}>"))

    def unknown_decl(self, data: str) -> None:
        self.out.append(escape(f"<![{data}]]>"))

    def handle_pi(self, data: str) -> None:
        self.out.append(escape(f"<?{data}>"))

    def close(self) -> None:
        super().close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        self.open.clear()
