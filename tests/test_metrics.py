"""/metrics: counters every process writes to Redis, read back in Prometheus text format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from bridge import build_services, create_app, metrics, pipeline
from bridge.config import parse_config
from bridge.store import Delivery, Event, Store
from tests.support import fixture_bytes, github_headers, process_event

CONFIG = """\
api_url: {url}
delivery: {{max_attempts: 3, backoff_base: 0.1, backoff_cap: 1}}
targets:
  team-chat: {{org: acme, flow: main, token: devflow-token}}
  wrong: {{org: acme, flow: main, token: wrong-token}}
routes:
  widgets: {{source: github, secret: "It's a Secret to Everybody", targets: [team-chat], branches: [master]}}
  broken: {{source: github, secret: "It's a Secret to Everybody", targets: [wrong]}}
"""


def scrape(app) -> dict[tuple, float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    answer = app.test_client().get("/metrics")
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


@pytest.fixture
def app(chat, redis_url):
    return create_app(parse_config(CONFIG.format(url=chat.url)), redis_url)


def labels(**given) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in given.items()))


def test_webhooks_are_counted_by_route_source_event_and_status(app):
    client = app.test_client()
    body = fixture_bytes("github", "push__many_commits")
    assert client.post("/hooks/widgets", data=body, headers=github_headers("push", body, "m-1")).status_code == 202
    assert client.post("/hooks/widgets", data=body, headers=github_headers("push", body, "m-1")).status_code == 200
    assert client.post("/hooks/widgets", data=body, headers=github_headers("push", body, "m-2", secret="wrong")).status_code == 401
    assert client.post("/hooks/nowhere-x1", data=body, headers=github_headers("push", body, "m-3")).status_code == 404
    found = scrape(app)
    received = "hookdock_webhooks_received_total"
    assert found[(received, labels(route="widgets", source="github", event="push", status=202))] == 1
    assert found[(received, labels(route="widgets", source="github", event="push", status=200))] == 1
    # A refused webhook's event name came from a stranger, as did an unknown route's name: neither becomes a label.
    assert found[(received, labels(route="widgets", source="github", event="", status=401))] == 1
    assert found[(received, labels(route="", source="", event="", status=404))] == 1
    assert found[("hookdock_queue_depth", ())] == 1


def test_worker_counts_attempts_deliveries_dead_letters_ignores_and_latency(app, chat, redis_url):
    services = build_services(app.extensions["hookdock"].config, redis_url)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    for event_id, route, fixture in (("ok", "widgets", "push__many_commits"), ("dead", "broken", "push__many_commits")):
        services.store.save_event(Event(event_id, route, "github", "push", event_id, headers, fixture_bytes("github", fixture)))
        for delivery_id in process_event(services, event_id):
            assert pipeline.attempt(services, delivery_id) is None
    body = fixture_bytes("github", "push__many_commits").replace(b'"refs/heads/master"', b'"refs/heads/feature"')
    services.store.save_event(Event("off", "widgets", "github", "push", "off", headers, body))
    assert process_event(services, "off") == []
    found = scrape(app)
    assert found[("hookdock_delivery_attempts_total", labels(target="team-chat", outcome="delivered"))] == 1
    assert found[("hookdock_delivery_attempts_total", labels(target="wrong", outcome="permanent"))] == 1
    assert found[("hookdock_deliveries_total", labels(target="team-chat", outcome="delivered"))] == 1
    assert found[("hookdock_dead_letters_total", labels(route="broken", target="wrong"))] == 1
    assert found[("hookdock_dead_letters_kept", ())] == 1
    assert found[("hookdock_events_ignored_total", labels(route="widgets", kind="branches"))] == 1
    assert found[("hookdock_webhook_to_message_seconds_count", labels(target="team-chat"))] == 1
    assert found[("hookdock_webhook_to_message_seconds_bucket", labels(target="team-chat", le="+Inf"))] == 1
    assert found[("hookdock_attempt_duration_seconds_count", labels(target="wrong"))] == 1
    assert 0 < found[("hookdock_attempt_duration_seconds_sum", labels(target="wrong"))] < 10


def test_every_metric_family_has_its_own_name_in_both_exposition_formats(redis_url):
    # A counter's family is its name without _total: a gauge named like it (hookdock_dead_letters) clashed, and
    # OpenMetrics parsers (what Prometheus negotiates first) refused the whole scrape.
    client = redis.Redis.from_url(redis_url)
    metrics.count(client, metrics.DEAD_LETTERS, route="r", target="t")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.RedisCollector(client))
    names = [family.name for family in metrics.RedisCollector(client).collect()]
    assert len(names) == len(set(names)), names
    assert len(list(openmetrics_families(openmetrics_latest(registry).decode()))) == len(names)


def test_histogram_buckets_are_cumulative_and_the_sum_is_in_seconds(redis_url):
    client = redis.Redis.from_url(redis_url)
    # As the worker records them: gathered in a Tally, written by the script call that saves the delivery.
    tally = metrics.Tally()
    for seconds in (0.003, 0.02, 0.02, 40.0):
        tally.observe(metrics.ATTEMPT_DURATION, seconds, target="t")
    Store(client, 3600).save_delivery(Delivery("e1.t", "e1", "r", "t", {}, status="retrying"), tally)
    [family] = [f for f in metrics.RedisCollector(client).collect() if f.name == metrics.ATTEMPT_DURATION]
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert (buckets["0.005"], buckets["0.01"], buckets["0.025"], buckets["30.0"], buckets["+Inf"]) == (1, 1, 3, 3, 4)
    assert [s.value for s in family.samples if s.name.endswith("_sum")] == [pytest.approx(40.043)]


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("routes.widgets.branches: feature matches none of master", "branches"),
        ("routes.w.exclude_authors: dependabot[bot] is excluded", "exclude_authors"),
        ("push to a merge-queue branch is not shown", "source"),
        ("", "source"),
    ],
)
def test_ignore_reasons_become_a_small_set_of_kinds(reason, kind):
    assert metrics.ignore_kind(reason) == kind


def test_metrics_never_fail_the_work_they_describe():
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    metrics.count(dead, metrics.RECEIVED, route="r")


def test_the_readme_documents_every_metric_and_its_alert_rule_uses_real_ones():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    exposed = set(metrics.SPECS) | {name for name, _, _ in metrics.GAUGES}
    documented = set(re.findall(r"^\| `(hookdock_\w+)` \|", section, re.MULTILINE))
    assert documented == exposed
    rules = re.findall(r"expr: (.+)", section)
    assert rules and all(set(re.findall(r"hookdock_\w+", rule)) <= exposed for rule in rules), rules
