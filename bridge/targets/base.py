"""What every target shares: the request it builds, the outcome of an attempt, and the answer table."""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

if TYPE_CHECKING:
    import requests

USER_AGENT = "hookdock/0.1"
PERMANENT = {400, 401, 403, 404, 410}
RETRY_LATER = {408, 409, 425, 429}
ERROR_BODY_LIMIT = 2000
# A URL's path is hidden as a secret only when it is long enough to hold one ("/hooks" alone would hide every route).
MIN_SECRET_PATH = 12
# Retry-After in seconds; some chats (Discord, Zulip) send fractions.
SECONDS = re.compile(r"\d+(\.\d+)?")


@dataclass
class Outcome:
    """What one attempt came to: delivered, retry (later), or permanent (give up now)."""

    kind: str
    status: int | None
    duration_ms: float
    error: str = ""
    retry_after: float | None = None
    flowdock_user: str | None = None
    # The id the chat gave the message (Flowdock and Zulip a number; Slack a ts, Matrix an event id).
    message_id: int | str | None = None


@dataclass(frozen=True)
class Request:
    """One HTTP request to a chat: JSON (or form) body, headers, Basic auth."""

    method: str
    url: str
    json: dict | None = None
    form: dict | None = None
    auth: tuple | None = None
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Sending:
    """What a target knows about a delivery besides its message."""

    # The thread's first message as the chat named it, once one was delivered (for replies under it).
    root: str | None = None
    # The route lets payload text ping people.
    allow_mentions: bool = False
    # Base URL of the Flowdock API (config api_url).
    api_url: str = "https://api.flowdock.com"


def secrets_of(settings: BaseModel) -> list[str]:
    """The secret values of a target, and the path of each secret URL (which error texts quote without the host)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found += [value.get_secret_value(), *url_parts(value.get_secret_value())]
    return [s for s in found if s]


def url_parts(value: str) -> list[str]:
    """The path and query of a URL that holds a secret (a webhook URL); nothing for other text."""
    parts = urlsplit(value) if value.startswith(("http://", "https://")) else None
    if parts is None or len(parts.path) < MIN_SECRET_PATH:
        return []
    return [parts.path + ("?" + parts.query if parts.query else ""), parts.path, *([parts.query] if parts.query else [])]


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret in text with ***, longest first so one inside another is hidden whole."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def bearer(token: SecretStr | None) -> dict:
    """The Authorization header of a chat API token (settings require one where a request needs it)."""
    assert token is not None
    return {"Authorization": f"Bearer {token.get_secret_value()}"}


def kind_of(status: int) -> str:
    """The contract's table: 2xx delivered; 408, 409, 425, 429 and 5xx retry; anything else permanent."""
    if 200 <= status < 300:
        return "delivered"
    return "retry" if status in RETRY_LATER or status >= 500 else "permanent"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def json_of(response: requests.Response) -> dict:
    """The answer's JSON object, or {} when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def error_text(response: requests.Response, secrets: list[str]) -> str:
    """What the server said, cut short and without secrets."""
    return redact(response.text[:ERROR_BODY_LIMIT], secrets)


def failed(exc: Exception, started: float, secrets: list[str]) -> Outcome:
    """A request that got no answer (refused, reset, timed out): worth another try."""
    return Outcome("retry", None, (time.monotonic() - started) * 1000, redact(f"{type(exc).__name__}: {exc}", secrets))
