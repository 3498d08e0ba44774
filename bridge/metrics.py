"""Prometheus metrics kept in Redis, so every gunicorn and Celery process adds to the same numbers.

Each counter, histogram bucket, sum and count is one field of one Redis hash; /metrics reads the hash
once and hands the totals to prometheus-client as a custom collector. The web's hot path adds nothing:
an accepted webhook is counted inside the same Lua call that stores it (bridge/store.py ACCEPT).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.broker import QUEUE

KEY = "hookdock:metrics"
# Unit separator: never in a metric name, and JSON escapes it inside label values.
SEP = "\x1f"
# Seconds; a delivery takes milliseconds to a few seconds, retries push the tail out to minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FILTER_KEY = re.compile(r"^routes\.[^.]+\.([a-z_]+):")


@dataclass(frozen=True)
class Spec:
    """One metric: its kind, what it says, its labels and, for a histogram, its buckets."""

    kind: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


RECEIVED = "hookdock_webhooks_received_total"
IGNORED = "hookdock_events_ignored_total"
RENDER_FAILURES = "hookdock_render_failures_total"
DELIVERIES = "hookdock_deliveries_total"
ATTEMPTS = "hookdock_delivery_attempts_total"
DEAD_LETTERS = "hookdock_dead_letters_total"
LATENCY = "hookdock_webhook_to_message_seconds"
ATTEMPT_DURATION = "hookdock_attempt_duration_seconds"

SPECS: dict[str, Spec] = {
    RECEIVED: Spec("counter", "Webhooks answered, by route, source, event and HTTP status", ("route", "source", "event", "status")),
    IGNORED: Spec("counter", "Events recorded as ignored, by route and the kind of reason (the filter key, or source)", ("route", "kind")),
    RENDER_FAILURES: Spec("counter", "Events whose templates failed (fallback: the built-in template was used instead)", ("route", "fallback")),
    DELIVERIES: Spec("counter", "Deliveries settled, by target and outcome (delivered or failed)", ("target", "outcome")),
    ATTEMPTS: Spec("counter", "Delivery attempts, by target and outcome (delivered, retry, permanent)", ("target", "outcome")),
    DEAD_LETTERS: Spec("counter", "Deliveries that became dead letters, by route and target", ("route", "target")),
    LATENCY: Spec("histogram", "Seconds from a webhook's arrival to its message being accepted by the chat (first round only)", ("target",), LATENCY_BUCKETS),
    ATTEMPT_DURATION: Spec("histogram", "Seconds one request to the chat API took", ("target",), ATTEMPT_BUCKETS),
}
# Read from Redis at scrape time: (name, help, what to ask Redis).
GAUGES = (
    ("hookdock_queue_depth", "Tasks waiting in the Celery queue", lambda r: r.llen(QUEUE)),
    ("hookdock_dead_letters_kept", "Dead letters kept now (within the retention window)", lambda r: r.zcard("hookdock:failed")),
    ("hookdock_failed_events", "Failed events kept now (within the retention window)", lambda r: r.zcard("hookdock:failed-events")),
)


def field(name: str, labels: dict, part: str = "") -> str:
    """The hash field of one series: name, labels in the spec's order, and which part (a bucket, sum, count)."""
    values = [str(labels.get(label, "")) for label in SPECS[name].labels]
    return SEP.join((name, json.dumps(values), part))


def count(client, name: str, n: int = 1, **labels) -> None:
    """Add n to a counter; metrics never fail the work they describe."""
    with suppress(redis.RedisError):
        client.hincrby(KEY, field(name, labels), n)


class Tally:
    """Metric writes gathered while an item is worked on, written by the script call that records the item (bridge/store.py STEPS): no round trip of their own."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, int]] = []
        self.sums: list[tuple[str, float]] = []

    def count(self, name: str, n: int = 1, **labels) -> None:
        """Add n to a counter."""
        self.counts.append((field(name, labels), n))

    def observe(self, name: str, seconds: float, **labels) -> None:
        """One observation of a histogram (its count is the +Inf bucket's)."""
        buckets = SPECS[name].buckets
        index = next((i for i, bound in enumerate(buckets) if seconds <= bound), len(buckets))
        self.counts.append((field(name, labels, f"b{index}"), 1))
        self.sums.append((field(name, labels, "sum"), max(0.0, seconds)))


def ignore_kind(reason: str) -> str:
    """The kind of an ignore reason: the route filter's key that dropped it, or 'source' when the source shows no such event."""
    match = FILTER_KEY.match(reason)
    return match.group(1) if match else "source"


class RedisCollector(Collector):
    """Every hookdock metric, from the Redis hash all processes write to, plus gauges read at scrape time."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def collect(self) -> Iterator[Metric]:
        stored = {as_text(k): as_text(v) for k, v in self.redis.hgetall(KEY).items()}
        series: dict[str, dict[tuple, dict[str, float]]] = {name: {} for name in SPECS}
        for key, value in stored.items():
            name, labels, part = key.split(SEP)
            if name in series:
                series[name].setdefault(tuple(json.loads(labels)), {})[part] = float(value)
        for name, spec in SPECS.items():
            yield family(name, spec, series[name])
        for name, text, read in GAUGES:
            gauge = GaugeMetricFamily(name, text)
            gauge.add_metric([], read(self.redis))
            yield gauge


def as_text(value: bytes | str) -> str:
    """A Redis reply as text, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else value


def family(name: str, spec: Spec, found: dict[tuple, dict[str, float]]) -> Metric:
    """One metric family from its stored series."""
    if spec.kind == "counter":
        counter = CounterMetricFamily(name.removesuffix("_total"), spec.help, labels=spec.labels)
        for values, parts in sorted(found.items()):
            counter.add_metric(list(values), parts.get("", 0.0))
        return counter
    histogram = HistogramMetricFamily(name, spec.help, labels=spec.labels)
    for values, parts in sorted(found.items()):
        running, cumulative = 0.0, []
        for i, bound in enumerate((*spec.buckets, float("inf"))):
            running += parts.get(f"b{i}", 0.0)
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
        histogram.add_metric(list(values), cumulative, parts.get("sum", 0.0))
    return histogram
