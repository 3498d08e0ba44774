"""Every example payload of every source through the real endpoint, the worker logic and a strict devflow.

GitHub: every @octokit/webhooks-examples payload. GitLab: every fixture (GitLab's documentation
examples and their variants), sent with a valid secret token AND a valid Standard Webhooks signature.
Alertmanager, Grafana and Sentry: every fixture, with a bearer secret, Grafana's HMAC and Sentry's signature.
Each example is posted to /hooks/<route>, processed, and delivered to devflow, which validates every
message against the Flowdock contract. An example must end as a delivered message or as an ignore
with its reason; never as an error, an empty or over-long message, or text with template artifacts.
"""

from __future__ import annotations

import gzip
import json
import time

import pytest

from bridge import create_app, pipeline
from bridge.config import parse_config
from bridge.render import MAX_CONTENT
from bridge.sources.auth import hmac_hex
from tests.support import FIXTURES, SECRET, SIGNING_KEY, github_headers, gitlab_headers, process_event

OCTOKIT_EXAMPLES = FIXTURES / "octokit" / "webhooks-examples-7.6.1.json.gz"
GITHUB = [
    ("github", entry["name"], i, example) for entry in json.loads(gzip.decompress(OCTOKIT_EXAMPLES.read_bytes())) for i, example in enumerate(entry["examples"])
]
GITLAB = [("gitlab", path.stem.split("__")[0], path.stem, json.loads(path.read_text())) for path in sorted((FIXTURES / "gitlab").glob("*__*.json"))]
ALERTING = [
    (source, path.stem.split("__")[0], path.stem, json.loads(path.read_text()))
    for source in ("alertmanager", "grafana", "sentry")
    for path in sorted((FIXTURES / source).glob("*__*.json"))
]
ARTIFACTS = ("{{", "}}", "{%", "Undefined", "None", "[object")
CONFIG = """\
api_url: {url}
targets:
  chat: {{org: acme, flow: main, token: devflow-token, rate_limit: {{per_second: 100000, burst: 100000}}}}
  inbox: {{flow_token: devflow-flow-token, rate_limit: {{per_second: 100000, burst: 100000}}}}
routes:
  github: {{source: github, secret: "It's a Secret to Everybody", targets: [chat, inbox]}}
  gitlab: {{source: gitlab, secret: "It's a Secret to Everybody", signing_secret: {key}, confidential: true, targets: [chat, inbox]}}
  alertmanager: {{source: alertmanager, secret: "It's a Secret to Everybody", targets: [chat, inbox]}}
  grafana: {{source: grafana, secret: "It's a Secret to Everybody", auth: signature, targets: [chat, inbox]}}
  sentry: {{source: sentry, secret: "It's a Secret to Everybody", targets: [chat, inbox]}}
"""
HEADERS = {
    "github": github_headers,
    "gitlab": gitlab_headers,
    "alertmanager": lambda name, body, delivery: {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"},
    "grafana": lambda name, body, delivery: {"Content-Type": "application/json", "X-Grafana-Alerting-Signature": hmac_hex(SECRET, body)},
    "sentry": lambda name, body, delivery: {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": name,
        "Sentry-Hook-Signature": hmac_hex(SECRET, body),
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Request-ID": delivery,
    },
}


@pytest.fixture(scope="module")
def app(chat_server, redis_server):
    return create_app(parse_config(CONFIG.format(url=chat_server.url, key=SIGNING_KEY)), redis_server.url)


def texts(message: dict) -> list[str]:
    """The human-readable strings of a message: content, or title, body and thread text."""
    thread = message.get("thread") or {}
    fields = [f"{f['label']}: {f['value']}" for f in thread.get("fields", [])]
    return [message.get(k) or "" for k in ("content", "title", "body")] + [thread.get("title", ""), thread.get("body") or ""] + fields


def test_the_pinned_package_has_every_event():
    assert len({name for _, name, _, _ in GITHUB}) == 58 and len(GITHUB) == 329


@pytest.mark.parametrize(
    "source, name, index, payload",
    GITHUB + GITLAB + ALERTING,
    ids=[f"{s}-{n}-{i}" if s == "github" else f"{s}-{i}" for s, n, i, _ in GITHUB + GITLAB + ALERTING],
)
def test_example_is_delivered_or_ignored_with_a_reason(app, chat, source, name, index, payload):
    body = json.dumps(payload).encode()
    answer = app.test_client().post(f"/hooks/{source}", data=body, headers=HEADERS[source](name, body, f"{name}-{index}"))
    assert answer.status_code == 202, answer.get_json()
    services = app.extensions["hookdock"]
    event_id = answer.get_json()["event"]
    assert services.store.load_event(event_id).name == name

    pending = process_event(services, event_id)
    event = services.store.load_event(event_id)
    if event.status == "ignored":
        assert event.reason and pending == []
        return
    assert event.status == "processed" and not event.reason, event.reason
    for delivery_id in pending:
        assert pipeline.attempt(services, delivery_id) is None
        delivery = services.store.load_delivery(delivery_id)
        assert delivery.status == "delivered", delivery.last_error
        message = delivery.message
        assert any(t.strip() for t in texts(message)), f"empty message for {delivery.target}"
        assert len(message.get("content") or "") <= MAX_CONTENT
        for text in texts(message):
            leaked = [a for a in ARTIFACTS if a in text and a not in json.dumps(payload)]
            assert not leaked, f"template artifact {leaked} in {text!r}"
