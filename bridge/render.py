"""Jinja rendering: the sandbox, the lookup order, and limits on time and size."""

from __future__ import annotations

import json
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from jinja2 import ChainableUndefined, FileSystemLoader, TemplateError, TemplateNotFound, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bridge.filters import FILTERS
from bridge.printing import PRINT_FILTERS, WALKING_FILTERS, PrintingCodeGenerator, items, json_default, payload_field, printable, shielded, walk_loops, walking

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"
# Flowdock refuses chat content longer than this.
MAX_CONTENT = 8096
TRUNCATED_TEMPLATE = "_truncated.txt"
# A template may not print more than this or run longer than this, whatever it loops over.
MAX_OUTPUT = 256 * 1024
MAX_SECONDS = 5.0


class RenderError(Exception):
    """A template failed; message says which template and line."""


class RenderLimit(Exception):
    """A template ran too long or printed too much."""


class RenderTooLong(RenderError):
    """A template printed more than MAX_OUTPUT: the same template with shorter input may fit."""


@contextmanager
def time_limit(seconds: float):
    """Interrupt the block after seconds, where signals allow it (the main thread of a process)."""

    def expire(signum, frame):
        raise RenderLimit(f"took longer than {seconds:g} s")

    # Asking signal itself, not threading: under gunicorn's gevent worker each request is a greenlet that
    # threading calls a thread of its own, yet it runs on the main thread, where a timer works.
    try:
        previous = signal.signal(signal.SIGALRM, expire)
        timed = True
    except ValueError:  # another OS thread: no timer there
        timed = False
    if not timed:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with * and ** bounded, and nothing it prints ever a null, an undefined or a repr."""

    intercepted_binops = frozenset(["*", "**"])
    code_generator_class = PrintingCodeGenerator

    def __init__(self, **options):
        super().__init__(finalize=printable, **options)
        self.filters.update({name: walking(self.filters[name], expect) for name, expect in WALKING_FILTERS.items()})
        self.filters.update(PRINT_FILTERS, _items=items)
        self.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": json_default}

    def _parse(self, source, name, filename):
        """Jinja's parse, with loops that walk a number or a null as an empty list (printing.walk_loops)."""
        return walk_loops(super()._parse(source, name, filename))

    def concat(self, parts) -> str:
        """What `a ~ b` builds: parts that are not text print as nothing."""
        return "".join(str(printable(part)) for part in parts)

    def getattr(self, obj, attribute):
        """A payload object's field before any method of the same name; a method as a call that prints as nothing."""
        found, value = payload_field(obj, attribute)
        if found:
            return value
        return shielded(obj, super().getattr(obj, attribute))

    def getitem(self, obj, argument):
        """Like getattr: a method reached by subscript prints as nothing."""
        return shielded(obj, super().getitem(obj, argument))

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 100:
            raise RenderLimit("exponent larger than 100")
        if operator == "*":
            sized, count = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            if isinstance(sized, (str, list, tuple)) and isinstance(count, int) and len(sized) * count > MAX_OUTPUT:
                raise RenderLimit(f"would build more than {MAX_OUTPUT} items")
        return super().call_binop(context, operator, left, right)


class OverridableLoader(FileSystemLoader):
    """A FileSystemLoader whose cached templates also go stale when an earlier folder gains an override."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        folder = next(d for d in self.searchpath if filename.startswith(os.path.join(d, "")))
        earlier = [os.path.join(d, *template.split("/")) for d in self.searchpath[: self.searchpath.index(folder)]]
        return source, filename, lambda: uptodate() and not any(os.path.exists(path) for path in earlier)


class Renderer:
    """Renders templates found in user folders first, then the built-in ones."""

    def __init__(self, user_dirs: Sequence[str | Path] = ()):
        self.search_path = [str(d) for d in user_dirs] + [str(BUILTIN_DIR)]
        # The immutable sandbox: user templates may read the payload, never change or escape it.
        self.loader = OverridableLoader(self.search_path)
        self.env = LimitedSandbox(
            loader=self.loader,
            autoescape=select_autoescape(["html"]),
            undefined=ChainableUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=True,
        )
        self.env.filters.update(FILTERS)

    def render(self, name: str, context: dict, prose: Callable[[str], str] = str) -> str:
        """Render one template, then prose(), to chat text no longer than Flowdock accepts: output past the limit is cut, not refused."""
        text = prose(self.render_text(name, context, cut_at=MAX_OUTPUT).strip())
        if len(text) <= MAX_CONTENT:
            return text
        return cap(text, self.render_text(TRUNCATED_TEMPLATE, {}).strip())

    def render_json(self, name: str, context: dict) -> dict:
        """Render a template that prints one JSON object (a thread message) and parse it."""
        text = self.render_text(name, context)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RenderError(f"{self.origin(name) or name}: did not print valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise RenderError(f"{self.origin(name) or name}: must print a JSON object")
        return data

    def render_text(self, name: str, context: dict, cut_at: int | None = None) -> str:
        """Render within the time and size limits (or stop at cut_at); any failure becomes a RenderError naming file and line."""
        try:
            parts, size = [], 0
            with time_limit(MAX_SECONDS):
                for chunk in self.env.get_template(name).generate(context):
                    size += len(chunk)
                    if cut_at is not None and size > cut_at:
                        parts.append(chunk[: len(chunk) - (size - cut_at)])
                        break
                    if size > MAX_OUTPUT:
                        raise RenderTooLong(f"{self.origin(name) or name}: printed more than {MAX_OUTPUT} characters")
                    parts.append(chunk)
            return "".join(parts)
        except RenderTooLong:
            raise
        except Exception as exc:  # a template must never take the process down
            raise RenderError(describe(exc, name)) from None

    def exists(self, name: str) -> bool:
        """True when some folder in the lookup order has this template."""
        return self.origin(name) is not None

    def origin(self, name: str) -> str | None:
        """The file a template is loaded from: the first folder in the lookup order that has it."""
        try:
            return self.loader.get_source(self.env, name)[1]
        except TemplateNotFound:
            return None

    def is_builtin(self, name: str) -> bool:
        """True when the template in use is the one hookdock ships."""
        origin = self.origin(name)
        return origin is not None and Path(origin).is_relative_to(BUILTIN_DIR)

    @property
    def has_overrides(self) -> bool:
        """True when user folders come before the built-in templates."""
        return len(self.search_path) > 1

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
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith((".txt", ".html", ".json"))]
        if frames:
            filename, lineno = frames[-1].filename, frames[-1].lineno
    message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, TemplateError) else str(exc)
    return f"{filename or name}:{lineno}: {message}" if lineno else f"{filename or name}: {message}"
