"""Users, flows and credentials of devflow, plus time helpers; plain data, no locking."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime


class NotFound(Exception):
    """A thread or message named by the request does not exist in the flow."""


class Invalid(Exception):
    """The body is well-formed but conflicts with stored state."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("Validation error")
        self.errors = errors


@dataclass
class User:
    """A user who can authenticate with a token or with e-mail and password."""

    id: int
    token: str
    nick: str
    name: str
    email: str | None = None
    password: str | None = None

    def public(self) -> dict:
        """Return the user as the API shows it (no secrets)."""
        return {"id": self.id, "nick": self.nick, "name": self.name, "email": self.email}


@dataclass
class Flow:
    """A flow inside an organization, optionally with one flow token (source)."""

    org: str
    name: str
    display_name: str
    org_name: str
    flow_token: str | None = None
    members: set[int] = field(default_factory=set)

    @property
    def id(self) -> str:
        # The historical "organization:flow" form of flow ids: readable in test output.
        return f"{self.org}:{self.name}"


@dataclass
class Auth:
    """Outcome of reading the credentials of one request."""

    kind: str | None = None
    user: User | None = None
    valid: bool = False

    def public(self) -> dict:
        """Return the request-log view of this outcome (no secrets)."""
        return {"kind": self.kind, "user_id": self.user.id if self.user else None, "valid": self.valid}


def now_ms() -> int:
    """Return the current time in milliseconds since the epoch."""
    return int(time.time() * 1000)


def iso(ms: int) -> str:
    """Return an ISO 8601 UTC timestamp for milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def same_secret(a: str | None, b: str) -> bool:
    """Compare secrets in constant time; a missing secret never matches."""
    return a is not None and hmac.compare_digest(a.encode(), b.encode())
