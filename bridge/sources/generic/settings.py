"""The `generic:` block of a route: which templates render it, where its event name and id are, how it authenticates."""

from __future__ import annotations

from typing import Literal

from jinja2 import TemplateSyntaxError
from pydantic import field_validator, model_validator

from bridge.config_base import Strict

# The route keys each scheme reads its secret from.
SECRET_KEY = {"hmac": "secret", "token": "secret", "standard_webhooks": "signing_secret"}


class Where(Strict):
    """A value taken from a request header, or from the body at a dotted JSON path ("repository.full_name", "commits.0.id")."""

    header: str | None = None
    path: str | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> Where:
        """A place is a header or a path, never both or neither."""
        if (self.header is None) == (self.path is None):
            raise ValueError("give header: <name> or path: <a.b.c>, exactly one; fix: for example {header: X-Gitea-Event}")
        return self


class Signature(Strict):
    """An HMAC-SHA256 of the raw body under the route's secret, in a named header: `<prefix><digest>`, hex or base64."""

    header: str
    prefix: str = ""
    encoding: Literal["hex", "base64"] = "hex"


class GenericSettings(Strict):
    """How a route of `source: generic` reads any JSON (or form) webhook."""

    # The chat template, looked up like any other (the route's templates_dir first); its thread card, when
    # the route's targets thread, is the file beside it ending in .thread.json instead of .txt, if there is one.
    template: str
    # A Jinja template giving the thread id ("{{ payload.repository.full_name }}:{{ payload.ref }}"); empty: no thread.
    thread: str | None = None
    # Where the event name is (what `events` filters match); without it every delivery is named "webhook".
    event: Where | None = None
    # Where the sender's delivery id is (the dedupe key); without it, the body's hash.
    id: Where | None = None
    # Chosen per route, no default: a route that forgot it must not accept anything.
    auth: Literal["hmac", "standard_webhooks", "token"]
    signature: Signature | None = None
    # A form body (application/x-www-form-urlencoded) whose field holds the JSON, e.g. payload.
    form_field: str | None = None
    # Payloads `python -m bridge check` renders through the templates (paths relative to the configuration file;
    # push__main.json is an event "push"), as it renders the shipped samples of the built-in sources.
    samples: list[str] = []

    @field_validator("template")
    @classmethod
    def a_text_template(cls, name: str) -> str:
        """The chat template is a .txt file relative to a templates folder."""
        if not name.endswith(".txt") or name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"{name!r} is not a template name; fix: name a .txt file under the route's templates_dir, e.g. gitea/push.txt")
        return name

    @field_validator("thread")
    @classmethod
    def thread_compiles(cls, source: str | None) -> str | None:
        """A thread template that does not compile is refused at start-up, not at the first delivery."""
        if source is not None:
            from bridge.sources.generic.threads import compile_thread

            try:
                compile_thread(source)
            except TemplateSyntaxError as exc:
                raise ValueError(f"is not a valid template ({exc.message}); fix: write it like {{{{ payload.repository.full_name }}}}") from None
        return source

    @model_validator(mode="after")
    def signature_for_hmac(self) -> GenericSettings:
        """auth: hmac needs to know where the signature is; other schemes take none."""
        if self.auth == "hmac" and self.signature is None:
            raise ValueError("auth: hmac needs signature: {header: <the header the sender signs in>}; fix: e.g. {header: X-Gitea-Signature}")
        if self.auth != "hmac" and self.signature is not None:
            raise ValueError(f"auth: {self.auth} does not read a signature header; fix: remove signature or use auth: hmac")
        return self
