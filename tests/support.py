"""Small helpers the tests share: ports, waiting with a deadline, signing, fixture files."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from pathlib import Path

import redis

from bridge import offline_services, pipeline
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.sources.standard_webhooks import sign as sign_standard

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "It's a Secret to Everybody"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll condition until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def sign(body: bytes, secret: str = SECRET) -> str:
    """The X-Hub-Signature-256 GitHub would send."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(event: str, body: bytes, delivery: str = "d-1", secret: str = SECRET) -> dict:
    """Headers of a signed GitHub JSON delivery."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign(body, secret),
        "User-Agent": "GitHub-Hookshot/test",
    }


# The Standard Webhooks reference libraries' test key, as a GitLab signing token.
SIGNING_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# X-Gitlab-Event of each object_kind whose hook is not simply "<Kind> Hook".
GITLAB_HOOKS = {"tag_push": "Tag Push Hook", "merge_request": "Merge Request Hook", "build": "Job Hook", "note": "Note Hook", "work_item": "Issue Hook"}


def gitlab_headers(event: str, body: bytes, delivery: str = "d-1", secret: str = SECRET, key: str = SIGNING_KEY, now: float | None = None) -> dict:
    """Headers of a GitLab JSON delivery carrying both the secret token and a Standard Webhooks signature."""
    stamp = str(int(time.time() if now is None else now))
    return {
        "Content-Type": "application/json",
        "X-Gitlab-Event": GITLAB_HOOKS.get(event, event.replace("_", " ").title() + " Hook"),
        "X-Gitlab-Event-UUID": f"uuid-{delivery}",
        "X-Gitlab-Token": secret,
        "Idempotency-Key": delivery,
        "webhook-id": delivery,
        "webhook-timestamp": stamp,
        "webhook-signature": sign_standard(key, delivery, stamp, body),
        "User-Agent": "GitLab/18.6.0",
    }


# One route per source with payload fixtures, each to a chat and a thread target, hearing every event.
EVERY_SOURCE_CONFIG = """\
targets:
  chat: {org: acme, flow: main, token: t}
  inbox: {flow_token: f}
routes:
  hooks: {source: github, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
  gitlab: {source: gitlab, secret: s, targets: [chat, inbox], events: ["*", "*.*"], confidential: true}
  alertmanager: {source: alertmanager, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
  grafana: {source: grafana, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
  sentry: {source: sentry, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
"""
# The route of EVERY_SOURCE_CONFIG that hears each source.
EVERY_SOURCE_ROUTES = {"github": "hooks", "gitlab": "gitlab", "alertmanager": "alertmanager", "grafana": "grafana", "sentry": "sentry"}


def fixture_bytes(source: str, name: str) -> bytes:
    """The raw bytes of tests/fixtures/<source>/<name>.json."""
    return (FIXTURES / source / f"{name}.json").read_bytes()


def fixture_payload(source: str, name: str) -> dict:
    """A fixture payload, parsed."""
    return json.loads(fixture_bytes(source, name))


def one_route(route: str) -> str:
    """Config text of one chat target and one route "r", the route given as a YAML flow mapping."""
    return f"targets:\n  chat: {{org: acme, flow: main, token: t}}\nroutes:\n  r: {route}\n"


def routed(source: str, extra: str, fixture: str, change=None) -> str:
    """A fixture's chat content through route "r" with `extra` keys, or the reason it dropped the event."""
    payload = fixture_payload(source, fixture)
    if change:
        change(payload)
    services = offline_services(parse_config(one_route(f"{{source: {source}, secret: s, targets: [chat]{extra}}}")))
    decision, sent, _ = messages_for(services, "r", fixture.split("__")[0], payload, "e", ["chat"])
    return sent["chat"]["content"] if sent else decision.reason


def process_event(services, event_id: str, only_target: str | None = None, holder: str | None = None, saved: dict | None = None) -> list[str]:
    """The worker's processing of a stored event, without Celery: the deliveries to send, held by holder, their records put in saved."""
    return pipeline.process_loaded(services, event_id, services.store.load_event(event_id), only_target, holder, saved)


def worker_messages(app, event_id: str) -> dict[str, dict]:
    """What each target would receive for an event, through the worker's logic (nothing is posted)."""
    services = app.extensions["hookdock"]
    deliveries = (services.store.load_delivery(d) for d in process_event(services, event_id))
    return {delivery.target: delivery.message for delivery in deliveries}


def queued(redis_url) -> list[tuple]:
    """(task name, args, kwargs) of every task waiting in the Celery queue."""
    found = []
    for raw in redis.Redis.from_url(redis_url).lrange("celery", 0, -1):
        message = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], args, kwargs))
    return found


def fields(value, path=()):
    """Paths of every object, list and value in a payload (the first three items of a list)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from fields(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from fields(item, (*path, index))
