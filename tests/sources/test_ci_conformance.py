"""CI sources through the real endpoint and the worker's logic on a real Redis: every scheme's refusals, and "back to green"."""

from __future__ import annotations

import json
import time

import pytest

from bridge import create_app, pipeline
from bridge.config import parse_config
from tests.sources.test_ci import PUBLIC_PEM, SECRET, buildkite_signature, travis_body, travis_signature
from tests.support import FIXTURES, fixture_bytes, fixture_payload, github_headers, process_event, worker_messages
from tests.support import SECRET as GITHUB_SECRET

CONFIG = f"""\
api_url: http://127.0.0.1:9
targets:
  chat: {{org: acme, flow: main, token: t}}
  inbox: {{flow_token: f}}
routes:
  jenkins: {{source: jenkins, secret: {SECRET}, targets: [chat, inbox]}}
  circleci: {{source: circleci, secret: {SECRET}, targets: [chat, inbox]}}
  buildkite: {{source: buildkite, secret: {SECRET}, targets: [chat, inbox]}}
  buildkite-token: {{source: buildkite, secret: {SECRET}, auth: token, targets: [chat, inbox]}}
  travis: {{source: travis, public_key: {json.dumps(PUBLIC_PEM)}, targets: [chat, inbox]}}
  github: {{source: github, secret: "{GITHUB_SECRET}", targets: [chat, inbox]}}
"""
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def app(redis_url):
    return create_app(parse_config(CONFIG), redis_url)


def jenkins_body(number: int, status: str, phase: str = "COMPLETED") -> bytes:
    payload = fixture_payload("jenkins", "build__completed_success")
    payload["build"].update(number=number, status=status, phase=phase, full_url=f"http://localhost:8080/job/asgard/{number}/")
    return json.dumps(payload).encode()


def circleci_headers(body: bytes, signature: str | None = None) -> dict:
    from bridge.sources.auth import hmac_hex

    return {**JSON, "circleci-event-type": "workflow-completed", "circleci-signature": signature or "v1=" + hmac_hex(SECRET, body)}


def buildkite_headers(body: bytes, **extra) -> dict:
    return {**JSON, "X-Buildkite-Event": "build.finished", **extra}


CIRCLE = fixture_bytes("circleci", "workflow-completed__success")
KITE = fixture_bytes("buildkite", "build.finished__failed")
TRAVIS_BODY, TRAVIS_VALUE = travis_body(fixture_payload("travis", "build__failed"))
JENKINS = fixture_bytes("jenkins", "build__completed_failure")
CASES = [
    # (route, url query, headers, body, status, words in the answer)
    ("jenkins", f"?token={SECRET}", JSON, JENKINS, 202, ""),
    ("jenkins", "", {**JSON, "Authorization": f"Bearer {SECRET}"}, JENKINS, 202, ""),
    ("jenkins", "", JSON, JENKINS, 401, "missing token"),
    ("jenkins", "?token=wrong", JSON, JENKINS, 401, "does not match"),
    ("jenkins", "", {**JSON, "Authorization": "Bearer"}, JENKINS, 401, "missing token"),
    ("jenkins", f"?token={SECRET}", {"Content-Type": "text/plain"}, JENKINS, 415, "unsupported content type"),
    ("circleci", "", circleci_headers(CIRCLE), CIRCLE, 202, ""),
    ("circleci", "", {**JSON, "circleci-event-type": "workflow-completed"}, CIRCLE, 401, "missing circleci-signature"),
    ("circleci", "", circleci_headers(CIRCLE, "v1=" + "0" * 64), CIRCLE, 401, "does not match"),
    ("circleci", "", circleci_headers(CIRCLE, "v1"), CIRCLE, 401, "must hold v1="),
    ("circleci", "", {k: v for k, v in circleci_headers(CIRCLE).items() if k != "circleci-event-type"}, CIRCLE, 400, "missing circleci-event-type"),
    ("buildkite", "", buildkite_headers(KITE, **{"X-Buildkite-Signature": "now"}), KITE, 401, "must look like timestamp="),
    ("buildkite", "", buildkite_headers(KITE), KITE, 401, "missing X-Buildkite-Signature"),
    ("buildkite", "", buildkite_headers(KITE, **{"X-Buildkite-Token": SECRET}), KITE, 401, "missing X-Buildkite-Signature"),
    ("buildkite-token", "", buildkite_headers(KITE, **{"X-Buildkite-Token": SECRET}), KITE, 202, ""),
    ("buildkite-token", "", buildkite_headers(KITE, **{"X-Buildkite-Token": "wrong"}), KITE, 401, "does not match"),
    ("buildkite-token", "", buildkite_headers(KITE), KITE, 401, "missing X-Buildkite-Token"),
    ("travis", "", {**FORM, "Signature": travis_signature(TRAVIS_VALUE)}, TRAVIS_BODY, 202, ""),
    ("travis", "", FORM, TRAVIS_BODY, 401, "missing Signature"),
    ("travis", "", {**FORM, "Signature": travis_signature(TRAVIS_VALUE + " ")}, TRAVIS_BODY, 401, "does not match"),
    ("travis", "", {**FORM, "Signature": "%%%"}, TRAVIS_BODY, 401, "not base64"),
]


@pytest.mark.parametrize("route, query, headers, body, status, words", CASES, ids=[f"{c[0]}-{c[4]}-{c[5] or 'ok'}" for c in CASES])
def test_the_endpoint_accepts_valid_and_refuses_invalid_authentication(app, route, query, headers, body, status, words):
    answer = app.test_client().post(f"/hooks/{route}{query}", data=body, headers=headers)
    assert answer.status_code == status, answer.get_json()
    assert words in (answer.get_json().get("error") or "")
    assert SECRET not in answer.get_data(as_text=True)


@pytest.mark.parametrize("skew, status", [(0, 202), (-299, 202), (-301, 401), (301, 401)])
def test_buildkite_signatures_hold_for_five_minutes(app, skew, status):
    headers = buildkite_headers(KITE, **{"X-Buildkite-Signature": buildkite_signature(KITE, int(time.time()) + skew)})
    answer = app.test_client().post("/hooks/buildkite", data=KITE, headers=headers)
    assert answer.status_code == status, answer.get_json()


def test_circleci_redelivery_is_a_duplicate_by_body_id(app):
    client = app.test_client()
    first = client.post("/hooks/circleci", data=CIRCLE, headers=circleci_headers(CIRCLE))
    again = client.post("/hooks/circleci", data=CIRCLE, headers=circleci_headers(CIRCLE))
    assert first.status_code == 202 and again.get_json() == {"duplicate": True, "event": first.get_json()["event"]}


def post_jenkins(app, body: bytes) -> str:
    answer = app.test_client().post(f"/hooks/jenkins?token={SECRET}", data=body, headers=JSON)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["event"]


def test_back_to_green_across_a_worker_restart_told_once_per_build(redis_url):
    worker = create_app(parse_config(CONFIG), redis_url)
    assert worker_messages(worker, post_jenkins(worker, jenkins_body(30, "SUCCESS")))["inbox"]["thread"]["status"]["color"] == "green"
    for number in (31, 32):
        sent = worker_messages(worker, post_jenkins(worker, jenkins_body(number, "FAILURE")))
        assert sent["chat"]["content"].splitlines()[0] == f"❌ asgard #{number} {'failed again on master (2 in a row)' if number == 32 else 'failed on master'}"
    # COMPLETED, then FINALIZED of the same build: the second tells nothing new, to chat or thread (a chat that
    # posts a card per change would show the same card twice).
    completed = worker_messages(worker, post_jenkins(worker, jenkins_body(33, "FAILURE")))
    twin = post_jenkins(worker, jenkins_body(33, "FAILURE", "FINALIZED"))
    assert "(3 in a row)" in completed["chat"]["content"] and worker_messages(worker, twin) == {}
    assert worker.extensions["hookdock"].store.load_event(twin).status == "ignored"

    restarted = create_app(parse_config(CONFIG), redis_url)  # a new worker: nothing but Redis carries the history
    green = post_jenkins(restarted, jenkins_body(34, "SUCCESS"))
    sent = worker_messages(restarted, green)
    assert sent["chat"]["content"].splitlines()[0] == "✅ asgard #34 is back to green on master after 3 failed builds"
    assert sent["inbox"]["title"] == "build #34 is back to green on master after 3 failed builds"

    # A replay of the same event tells the same; its FINALIZED twin and the next pass stay out of chat.
    services = restarted.extensions["hookdock"]
    services.store.mark_event(green, "queued")
    assert worker_messages(restarted, green)["chat"]["content"] == sent["chat"]["content"]
    assert set(worker_messages(restarted, post_jenkins(restarted, jenkins_body(34, "SUCCESS", "FINALIZED")))) == set()
    assert set(worker_messages(restarted, post_jenkins(restarted, jenkins_body(35, "SUCCESS")))) == {"inbox"}


def test_a_result_told_again_after_the_thread_moved_on_updates_the_thread(redis_url):
    """A build that runs again and ends as before (a restart) moves its thread back: only an unchanged thread hears nothing."""
    worker = create_app(parse_config(CONFIG), redis_url)
    worker_messages(worker, post_jenkins(worker, jenkins_body(50, "FAILURE")))
    assert set(worker_messages(worker, post_jenkins(worker, jenkins_body(50, "", "STARTED")))) == {"inbox"}
    again = worker_messages(worker, post_jenkins(worker, jenkins_body(50, "FAILURE", "FINALIZED")))
    assert set(again) == {"inbox"} and again["inbox"]["thread"]["status"]["color"] == "red"


def test_histories_are_kept_per_branch(redis_url):
    worker = create_app(parse_config(CONFIG), redis_url)
    failing = json.loads(jenkins_body(40, "FAILURE"))
    failing["build"]["scm"]["branch"] = "origin/feature"
    worker_messages(worker, post_jenkins(worker, json.dumps(failing).encode()))
    assert set(worker_messages(worker, post_jenkins(worker, jenkins_body(41, "SUCCESS")))) == {"inbox"}  # master never failed


def test_github_workflow_runs_share_the_build_history(redis_url):
    """workflow_run is a build too: the first run to pass after a failure on its branch is back to green."""
    worker = create_app(parse_config(CONFIG), redis_url)
    client = worker.test_client()
    failed = fixture_payload("github", "workflow_run__failure")
    passed = fixture_payload("github", "workflow_run__success")
    passed["workflow_run"].update(id=289782452, run_number=passed["workflow_run"]["run_number"] + 1)
    sent = {}
    for name, payload in (("failed", failed), ("passed", passed)):
        body = json.dumps(payload).encode()
        answer = client.post("/hooks/github", data=body, headers=github_headers("workflow_run", body, f"run-{name}"))
        sent[name] = worker_messages(worker, answer.get_json()["event"])
    assert sent["failed"]["chat"]["content"].startswith("❌")
    assert " is back to green on master after 1 failed run in octo-org/octo-repo" in sent["passed"]["chat"]["content"].splitlines()[0]
    assert sent["passed"]["inbox"]["title"].endswith("is back to green after 1 failed run")


def signed(source: str, event: str, raw: bytes) -> tuple[str, dict, bytes]:
    """A fixture as its sender posts it: the query, the headers and the body, with valid authentication."""
    if source == "jenkins":
        return f"?token={SECRET}", JSON, raw
    if source == "circleci":
        return "", {**circleci_headers(raw), "circleci-event-type": event}, raw
    if source == "buildkite":
        return "", {**JSON, "X-Buildkite-Event": event, "X-Buildkite-Signature": buildkite_signature(raw, int(time.time()))}, raw
    body, value = travis_body(json.loads(raw))
    return "", {**FORM, "Signature": travis_signature(value)}, body


DELIVERED = sorted(p for source in ("jenkins", "circleci", "buildkite", "travis") for p in (FIXTURES / source).glob("*__*.json"))


@pytest.mark.parametrize("path", DELIVERED, ids=[f"{p.parent.name}/{p.stem}" for p in DELIVERED])
def test_every_ci_fixture_is_delivered_to_a_strict_devflow_or_ignored(chat, redis_url, path):
    devflow = (
        CONFIG.replace("http://127.0.0.1:9", chat.url)
        .replace("token: t}", "token: devflow-token}")
        .replace("flow_token: f}", "flow_token: devflow-flow-token}")
    )
    app = create_app(parse_config(devflow), redis_url)
    source, event = path.parent.name, path.stem.split("__")[0]
    query, headers, body = signed(source, event, path.read_bytes())
    answer = app.test_client().post(f"/hooks/{source}{query}", data=body, headers=headers)
    assert answer.status_code == 202, answer.get_json()
    services = app.extensions["hookdock"]
    pending = process_event(services, answer.get_json()["event"])
    event_record = services.store.load_event(answer.get_json()["event"])
    assert event_record.status in ("processed", "ignored") and (pending or event_record.reason), event_record.reason
    for delivery_id in pending:
        assert pipeline.attempt(services, delivery_id) is None
        delivery = services.store.load_delivery(delivery_id)
        assert delivery.status == "delivered", delivery.last_error
