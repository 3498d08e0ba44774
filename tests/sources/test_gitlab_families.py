"""GitLab's CI, project, security and admin families: every kind covered, odd payloads print no None, statuses filter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bridge import create_app, offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.sources import gitlab
from bridge.sources.gitlab import admin, ci, project, security
from tests.support import FIXTURES, SECRET, fixture_payload, gitlab_headers, process_event

FAMILIES = {**ci.EVENTS, **project.EVENTS, **security.EVENTS, **admin.EVENTS}
PATHS = sorted(p for p in (FIXTURES / "gitlab").glob("*__*.json") if p.stem.split("__")[0] in FAMILIES)
TARGETS = """\
targets:
  chat: {org: acme, flow: main, token: t}
  inbox: {flow_token: f}
"""
SERVICES = offline_services(
    parse_config(
        TARGETS
        + """\
routes:
  every: {source: gitlab, secret: s, targets: [chat, inbox], events: ["*", "*.*"]}
  failures: {source: gitlab, secret: s, targets: [chat, inbox], events: [pipeline.failed, build.success]}
  flight: {source: gitlab, secret: s, targets: [chat], repositories: ["flightjs/*"]}
"""
    )
)
# Fields that choose the template and the wording: kept, so each mutated payload still renders.
DECISIVE = {"object_kind", "event_name", "action", "status", "build_status", "state", "active", "awardable_type", "noteable_type"}
FORBIDDEN = re.compile(r"None|Undefined|\{'|<bridge\.|<built-in| object at 0x")


def sent(route: str, event: str, payload: dict) -> dict:
    """What each target of the route receives."""
    return messages_for(SERVICES, route, event, payload, "e", ["chat", "inbox"])[1]


def test_every_event_kind_of_these_families_has_a_fixture():
    covered = {path.stem.split("__")[0] for path in PATHS}
    assert sorted(set(FAMILIES) - covered) == []


def mutated(value: object, leaf: object, key: str = "") -> object:
    """The payload with every leaf but the decisive ones replaced (null, or a value of another type)."""
    if key in DECISIVE:
        return value
    if isinstance(value, dict):
        return {k: mutated(v, leaf, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mutated(v, leaf) for v in value] if leaf is None else leaf
    return leaf


@pytest.mark.parametrize("leaf", [None, 7, ["x"], {"k": "v"}], ids=["null", "number", "list", "object"])
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_odd_fields_print_nothing_rather_than_none_or_a_repr(path: Path, leaf: object):
    event = path.stem.split("__")[0]
    messages = sent("every", event, mutated(json.loads(path.read_text()), leaf))
    for message in messages.values():
        shown = json.dumps(message, ensure_ascii=False)
        assert not FORBIDDEN.search(shown), shown
    if "chat" in messages:
        assert messages["chat"]["content"].strip()


def test_a_job_joins_its_pipelines_thread():
    pipeline = fixture_payload("gitlab", "pipeline__failed")
    job = {**fixture_payload("gitlab", "build__failed"), "pipeline_id": pipeline["object_attributes"]["id"], "project": pipeline["project"]}
    assert gitlab.classify("build", job).thread == gitlab.classify("pipeline", pipeline).thread == "gitlab:gitlab-org/gitlab-test:pipeline:31"


@pytest.mark.parametrize(
    "jobs, standing",
    [
        ([("build", "success"), ("test", "failed"), ("deploy", "created")], ["build:success", "test:failed", "deploy:created"]),
        ([("test", "failed", True), ("test", "success")], ["test:success"]),
        ([("test", "running"), ("test", "failed")], ["test:failed"]),
        ([("test", "pending"), ("test", "success")], ["test:pending"]),
        ([("deploy", "skipped"), ("deploy", "skipped")], ["deploy:skipped"]),
        ([("deploy", "manual"), ("deploy", "skipped")], ["deploy:manual"]),
        ([("test", "canceled"), ("test", "success")], ["test:canceled"]),
    ],
)
def test_a_stage_stands_as_its_most_telling_job(jobs, standing):
    builds = [{"stage": j[0], "status": j[1], "allow_failure": j[2] if len(j) > 2 else False} for j in jobs]
    found = ci.stages(["build", "test", "deploy"], builds)
    assert [f"{stage['name']}:{stage['status']}" for stage in found] == standing


def test_routes_name_statuses_as_actions():
    failed, passed = fixture_payload("gitlab", "pipeline__failed"), fixture_payload("gitlab", "pipeline__success")
    assert sent("failures", "pipeline", failed)["chat"]["content"].startswith("❌ Pipeline #31 failed")
    decision, messages, _ = messages_for(SERVICES, "failures", "pipeline", passed, "e", ["chat", "inbox"])
    assert (decision.template, messages) == (None, {})
    assert decision.reason == "routes.failures.events: pipeline.success matches none of pipeline.failed, build.success"
    job = sent("failures", "build", fixture_payload("gitlab", "build__success"))
    assert job["chat"]["content"].startswith("✅ Job test passed") and job["inbox"]["external_thread_id"].endswith(":pipeline:2366")


def test_release_notes_cannot_ping_or_tag():
    payload = fixture_payload("gitlab", "release__create")
    payload["description"] = "Thanks @alice and @all! Fixes #bug and !34"
    content = sent("every", "release", payload)["chat"]["content"]
    assert "@\u200balice" in content and "@\u200ball" in content and "#\u200bbug" in content


@pytest.mark.parametrize(
    "fixture, project",
    [
        ("vulnerability__confirmed", "flightjs/Flight"),  # no project object: the path is in the vulnerability's URL
        ("user_add_to_team__system_hook", "jsmith/storecloud"),  # project_path_with_namespace
        ("access_token__project", "flightjs/Flight"),
        ("user_add_to_group__group_hook", None),  # about a group, so no project to match
    ],
)
def test_routes_filter_these_events_by_project(fixture, project):
    event = fixture.split("__")[0]
    assert gitlab.facts(event, fixture_payload("gitlab", fixture))["repository"] == project
    decision, messages, _ = messages_for(SERVICES, "flight", event, fixture_payload("gitlab", fixture), "e", ["chat"])
    assert ("chat" in messages) == (project == "flightjs/Flight"), decision.reason


def test_back_to_green_is_told_once_per_branch_and_kind_of_pipeline(redis_url):
    """Results are kept by the worker (bridge/build_history.py): a pass after failures is back to green, once."""
    worker = create_app(
        parse_config(f"api_url: http://127.0.0.1:9\n{TARGETS}routes:\n  lab: {{source: gitlab, secret: {SECRET}, targets: [chat, inbox]}}\n"),
        redis_url,
    )
    services = worker.extensions["hookdock"]

    def post(pipeline_id: int, status: str, source: str = "push") -> dict[str, dict]:
        payload = fixture_payload("gitlab", "pipeline__failed")
        payload["object_attributes"].update(id=pipeline_id, status=status, source=source)
        body = json.dumps(payload).encode()
        answer = worker.test_client().post("/hooks/lab", data=body, headers=gitlab_headers("pipeline", body, f"p-{pipeline_id}-{status}"))
        return {services.store.load_delivery(d).target: services.store.load_delivery(d).message for d in process_event(services, answer.get_json()["event"])}

    first, again = post(40, "failed"), post(41, "failed")
    assert first["chat"]["content"].splitlines()[0] == "❌ Pipeline #40 failed on master in gitlab-org/gitlab-test: test"
    assert again["chat"]["content"].splitlines()[0] == "❌ Pipeline #41 failed again on master (2 in a row) in gitlab-org/gitlab-test: test"
    assert set(post(42, "success", source="schedule")) == {"inbox"}  # a schedule's pipelines have their own history
    green = post(41, "success")  # the failed pipeline, retried: the same pipeline and thread
    assert green["chat"]["content"].splitlines()[0] == "✅ Pipeline #41 is back to green on master after 2 failed pipelines in gitlab-org/gitlab-test: test"
    assert green["inbox"]["title"] == "pipeline #41 is back to green after 2 failed pipelines"
    assert green["inbox"]["external_thread_id"] == again["inbox"]["external_thread_id"]
    assert set(post(43, "success")) == {"inbox"}  # passing as usual: the thread only
