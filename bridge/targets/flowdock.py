"""Flowdock (the default target): the REST API of ../shared/flowdock-api.md, by user token, e-mail and password, or flow token."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from pydantic import Field, model_validator

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import PERMANENT, RETRY_LATER, Outcome, Request, Sending, error_text, json_of, kind_of, parse_retry_after, redact

if TYPE_CHECKING:
    import requests

__all__ = ["PERMANENT", "RETRY_LATER", "Outcome", "parse_retry_after", "redact"]

# Namespace of message uuids: uuid5(namespace, "event/target") is the same on every attempt and replay.
UUID_NAMESPACE = uuid.UUID("6f1b0c8e-2d7a-4e5b-9c3f-0a1d2e3f4b5c")
# Flowdock's threads are told by external_thread_id on every message; no root message id is needed.
ROOTS = False


class Settings(TargetSettings):
    """Where messages go: a flow by user token or e-mail/password, or a flow token."""

    type: Literal["flowdock"] = "flowdock"
    org: str | None = None
    flow: str | None = None
    token: Secret | None = None
    email: str | None = None
    password: Secret | None = None
    flow_token: Secret | None = None
    external_user_name: str | None = Field(default=None, pattern=r"^\S+$")

    @model_validator(mode="after")
    def one_kind_of_credentials(self) -> Settings:
        """A target is either a flow-token source or an org/flow with user credentials."""
        if self.flow_token is not None:
            if any(v is not None for v in (self.org, self.flow, self.token, self.email, self.password)):
                raise ValueError("a flow_token target takes no org, flow, token, email or password")
            return self
        if not (self.org and self.flow):
            raise ValueError("give org and flow (with token, or email and password), or a flow_token")
        if (self.token is None) == (self.email is None):
            raise ValueError("give exactly one of token, or email with password")
        if self.email is not None and self.password is None:
            raise ValueError("email needs a password")
        return self

    @property
    def uses_flow_token(self) -> bool:
        """True when the target posts through POST /messages with a flow token."""
        return self.flow_token is not None

    @property
    def threaded(self) -> bool:
        """Flow-token targets post one thread per item (activity messages); false makes them post chat messages."""
        return self.uses_flow_token and self.threads


def message_uuid(event_id: str, target: str) -> str:
    """The deterministic uuid that lets the server drop a repeated post."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{event_id}/{target}"))


def request_for(api_url: str, target: Settings, message: dict) -> tuple[str, dict, tuple | None]:
    """URL, JSON body and Basic auth for posting message to target."""
    base = api_url.rstrip("/")
    if target.flow_token is not None:
        return f"{base}/messages", {**message, "flow_token": target.flow_token.get_secret_value()}, None
    # Config validation guarantees org and flow, and a token or an email with a password, here.
    url = f"{base}/flows/{quote(target.org or '', safe='')}/{quote(target.flow or '', safe='')}/messages"
    if target.token is not None:
        # Flowdock takes the API token as the Basic user name; the password is ignored.
        return url, message, (target.token.get_secret_value().encode(), b"")
    password = target.password.get_secret_value() if target.password else ""
    # Encode as UTF-8 ourselves: text credentials go out as Latin-1 (as requests sends them), which fails on other passwords.
    return url, message, ((target.email or "").encode(), password.encode())


def build(target: Settings, message: dict, sending: Sending) -> Request:
    """The request posting message: the message itself is Flowdock's body."""
    url, body, auth = request_for(sending.api_url, target, message)
    return Request("POST", url, json=body, auth=auth)


def secrets_of(target: Settings) -> list[str]:
    """The secret values that must never appear in a record or a log line."""
    return [s.get_secret_value() for s in (target.token, target.password, target.flow_token) if s is not None]


def classify(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """Map an HTTP answer to delivered, retry or permanent, keeping what the server said."""
    status = response.status_code
    user = response.headers.get("Flowdock-User")
    kind = kind_of(status)
    if kind == "delivered":
        found = json_of(response).get("id")
        return Outcome(kind, status, duration_ms, flowdock_user=user, message_id=found if isinstance(found, int) else None)
    return Outcome(kind, status, duration_ms, error_text(response, secrets), parse_retry_after(response.headers.get("Retry-After")), user)


# The name every target module gives its answer table.
answer = classify
