"""The Flowdock REST API client: build a request for a target, post it, classify the answer."""

from __future__ import annotations

import email.utils
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

import requests

from bridge.config import Target

# Namespace of message uuids: uuid5(namespace, "event/target") is the same on every attempt and replay.
UUID_NAMESPACE = uuid.UUID("6f1b0c8e-2d7a-4e5b-9c3f-0a1d2e3f4b5c")
USER_AGENT = "hookdock/0.1"
PERMANENT = {400, 401, 403, 404, 410}
RETRY_LATER = {408, 409, 425, 429}
ERROR_BODY_LIMIT = 2000


@dataclass
class Outcome:
    """What one attempt came to: delivered, retry (later), or permanent (give up now)."""

    kind: str
    status: int | None
    duration_ms: float
    error: str = ""
    retry_after: float | None = None
    flowdock_user: str | None = None
    message_id: int | None = None


def message_uuid(event_id: str, target: str) -> str:
    """The deterministic uuid that lets the server drop a repeated post."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{event_id}/{target}"))


def request_for(api_url: str, target: Target, message: dict) -> tuple[str, dict, tuple | None]:
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
    # Encode as UTF-8 ourselves: requests would use Latin-1 and fail on other passwords.
    return url, message, ((target.email or "").encode(), password.encode())


def secrets_of(target: Target) -> list[str]:
    """The secret values that must never appear in a record or a log line."""
    return [s.get_secret_value() for s in (target.token, target.password, target.flow_token) if s is not None]


def redact(text: str, secrets: list[str]) -> str:
    """Replace every secret in text with ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def post(session: requests.Session, api_url: str, target: Target, message: dict, timeout: float) -> Outcome:
    """Make one attempt and classify it as the contract's table says."""
    url, body, auth = request_for(api_url, target, message)
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    started = time.monotonic()
    try:
        response = session.post(url, json=body, auth=auth, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        elapsed = (time.monotonic() - started) * 1000
        return Outcome("retry", None, elapsed, redact(f"{type(exc).__name__}: {exc}", secrets_of(target)))
    elapsed = (time.monotonic() - started) * 1000
    return classify(response, elapsed, secrets_of(target))


def classify(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """Map an HTTP answer to delivered, retry or permanent, keeping what the server said."""
    status = response.status_code
    user = response.headers.get("Flowdock-User")
    if 200 <= status < 300:
        return Outcome("delivered", status, duration_ms, flowdock_user=user, message_id=_message_id(response))
    kind = "retry" if status in RETRY_LATER or status >= 500 else "permanent"
    error = redact(response.text[:ERROR_BODY_LIMIT], secrets)
    return Outcome(kind, status, duration_ms, error, parse_retry_after(response.headers.get("Retry-After")), user)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _message_id(response: requests.Response) -> int | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), int) else None
