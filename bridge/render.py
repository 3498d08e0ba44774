"""Jinja rendering of chat messages: sandboxed, template lookup order, filters, length cap."""
from __future__ import annotations

import json
import traceback
from pathlib import Path

from jinja2 import ChainableUndefined, FileSystemLoader, TemplateError, TemplateNotFound, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"
# Flowdock refuses chat content longer than this.
MAX_CONTENT = 8096
TRUNCATED_TEMPLATE = "_truncated.txt"


def short_sha(value: str, length: int = 7) -> str:
    """The abbreviated commit id people recognise."""
    return str(value or "")[:length]


def first_line(value: str) -> str:
    """A commit message's subject line."""
    return str(value or "").strip().splitlines()[0] if str(value or "").strip() else ""


def pluralize(count: int, singular: str = "", plural: str = "s") -> str:
    """'' or 's' (or the given forms) to agree with count."""
    return singular if count == 1 else plural


def html(value: str, limit: int = 1500) -> str:
    """Payload text made safe for an HTML body: cut, escaped, line breaks kept."""
    text = str(value or "").strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return str(escape(text)).replace("\n", "<br>")


FILTERS = {"short_sha": short_sha, "first_line": first_line, "pluralize": pluralize, "html": html}


class RenderError(Exception):
    """A template failed; message says which template and line."""


class Renderer:
    """Renders templates found in user folders first, then the built-in ones."""

    def __init__(self, user_dirs: list[str | Path] = ()):
        self.search_path = [str(d) for d in user_dirs] + [str(BUILTIN_DIR)]
        # The immutable sandbox: user templates may read the payload, never change or escape it.
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(self.search_path),
            autoescape=select_autoescape(["html"]),
            undefined=ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=True,
        )
        self.env.filters.update(FILTERS)

    def render(self, name: str, context: dict) -> str:
        """Render one template to chat text no longer than Flowdock accepts."""
        try:
            text = self.env.get_template(name).render(context).strip()
            return cap(text, self.env.get_template(TRUNCATED_TEMPLATE).render().strip())
        except Exception as exc:  # a template must never take the process down
            raise RenderError(describe(exc, name)) from None

    def render_json(self, name: str, context: dict) -> dict:
        """Render a template that prints one JSON object (a thread message) and parse it."""
        try:
            text = self.env.get_template(name).render(context)
        except Exception as exc:  # a template must never take the process down
            raise RenderError(describe(exc, name)) from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RenderError(f"{name}: did not print valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise RenderError(f"{name}: must print a JSON object")
        return data

    def exists(self, name: str) -> bool:
        """True when some folder in the lookup order has this template."""
        try:
            self.env.loader.get_source(self.env, name)
        except TemplateNotFound:
            return False
        return True

    def check(self) -> list[str]:
        """Compile every template; return 'file:line: message' for each that fails."""
        errors = []
        for name in self.env.list_templates():
            try:
                self.env.get_template(name)
            except TemplateError as exc:
                errors.append(describe(exc, name))
        return errors


def cap(text: str, marker: str, limit: int = MAX_CONTENT) -> str:
    """Cut text on a character boundary so that text plus marker fits in limit."""
    if len(text) <= limit:
        return text
    return text[: limit - len(marker) - 1].rstrip() + "\n" + marker


def describe(exc: Exception, name: str) -> str:
    """'file:line: message' for a template error, compile-time or runtime."""
    filename, lineno = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if lineno is None:
        # Jinja maps runtime errors onto template frames; the innermost one is the culprit.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".txt", ".html"))]
        if frames:
            filename, lineno = frames[-1].filename, frames[-1].lineno
    message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, TemplateError) else str(exc)
    return f"{filename or name}:{lineno}: {message}" if lineno else f"{filename or name}: {message}"
