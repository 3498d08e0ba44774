"""Links in a composed message: only http(s) URLs become links, thread URLs, actions or avatars.

Enforced once, on what templates printed (built-in or override), so no template can forget it:
a link whose href is anything else keeps its text and loses the link; a thread's external_url or
an author's avatar is dropped; an action without a web URL is dropped.
"""

from __future__ import annotations

import html
import re

from bridge.filters import is_web_url

# An <a ...>text</a> pair, and any <a ...> start tag left over (unclosed, or nested by an override).
ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
START_TAG = re.compile(r"<a\b([^>]*)>", re.IGNORECASE)
HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def href_is_safe(attributes: str) -> bool:
    """True when the tag's href, unescaped, is an http(s) URL."""
    found = HREF.search(attributes)
    if not found:
        return False
    return is_web_url(html.unescape(next(group for group in found.groups() if group is not None)))


def safe_links(text: object) -> object:
    """HTML with every link to anything but http(s) replaced by its text."""
    if not isinstance(text, str) or "<a" not in text.lower():
        return text
    text = ANCHOR.sub(lambda m: m.group(0) if href_is_safe(m.group(1)) else m.group(2), text)
    return START_TAG.sub(lambda m: m.group(0) if href_is_safe(m.group(1)) else "", text)


def action_is_safe(action: object) -> bool:
    """A ViewAction's url, or an UpdateAction's target.urlTemplate, is there and is http(s)."""
    if not isinstance(action, dict):
        return False
    target = action.get("target")
    target = target if isinstance(target, dict) else {}
    urls = [url for url in (action.get("url"), target.get("urlTemplate")) if url is not None]
    return bool(urls) and all(is_web_url(url) for url in urls)


def safe_thread(thread: dict) -> dict:
    """A thread state whose URL, actions and HTML hold only http(s) links."""
    thread = {key: safe_links(value) for key, value in thread.items()}
    if not is_web_url(thread.get("external_url")):
        thread.pop("external_url", None)
    if isinstance(thread.get("fields"), list):
        thread["fields"] = [{**field, "value": safe_links(field.get("value"))} if isinstance(field, dict) else field for field in thread["fields"]]
    if isinstance(thread.get("actions"), list):
        thread["actions"] = [action for action in thread["actions"] if action_is_safe(action)]
    return thread


def safe_activity(message: dict) -> dict:
    """An activity's title, body, author and thread with only http(s) links."""
    safe = {key: safe_links(value) for key, value in message.items()}
    author = safe.get("author")
    if isinstance(author, dict) and "avatar" in author and not is_web_url(author["avatar"]):
        safe["author"] = {key: value for key, value in author.items() if key != "avatar"}
    thread = safe.get("thread")
    if isinstance(thread, dict):
        safe["thread"] = safe_thread(thread)
    return safe
