"""bench/report.py judges every aim of the performance issues from the raw figures."""

from __future__ import annotations

import copy

import pytest

from bench import report

MB = 2**20


def run(p50=2.0, p95=4.0, p99=8.0, errors=0, rps=1000.0, ok=1000) -> dict:
    """One load generator summary."""
    return {"rps": rps, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "errors": errors, "ok": ok}


def peak(root: float, children: float) -> dict:
    """One process tree's peak RSS, as bench/memory.py reports it."""
    return {"root": root * MB, "children": children * MB, "sum": (root + 2 * children) * MB}


RESULTS = {
    "ingest": {
        "fixed_rate": 500,
        "own_rate": 400,
        "bare_max": run(rps=1000),
        "hookdock_max": run(rps=800),
        "bare_fixed": run(),
        "hookdock_fixed": run(p99=20.0),
        "bare_own": run(),
        "hookdock_own": run(),
        "naive_max": run(rps=60),
        "naive_fixed": run(p99=3000.0, errors=100),
        "naive_light": {"rate": 5, "p50_ms": 5.0, "p99_ms": 18.0},
    },
    "delivery": {
        "events": 1000,
        "hookdock_c2": {"rate": 180.0},
        "hookdock_c1": {"rate": 100.0},
        "raw_c2": {"rate": 280.0},
        "light": {"rate": 5, "p50_ms": 20.0, "p99_ms": 40.0},
        "redis_bytes_per_event_queued": 11000,
        "redis_bytes_per_event_retained": 10700,
        "body_bytes": 7452,
    },
    "rss": {
        "web": peak(40, 70),
        "bare": peak(30, 35),
        "worker2": peak(90, 95),
        "rawpost": peak(30, 30),
        "redis": peak(48, 0),
    },
}


def with_figure(path: str, value) -> dict:
    """RESULTS with the figure at a dotted path replaced."""
    results = copy.deepcopy(RESULTS)
    *parents, last = path.split(".")
    node = results
    for key in parents:
        node = node[key]
    node[last] = value
    return results


def test_figures_within_every_aim_meet_them_all():
    assert {name: aim["met"] for name, aim in report.aims(RESULTS).items()} == dict.fromkeys(report.aims(RESULTS), True)


@pytest.mark.parametrize(
    ("path", "value", "aim"),
    [
        ("ingest.hookdock_max.rps", 700.0, "ingest_vs_bare"),
        ("ingest.hookdock_fixed.p99_ms", 25.0, "p99_ms_at_half_bare_rate"),
        ("ingest.hookdock_fixed.errors", 1, "errors_at_half_bare_rate"),
        ("delivery.hookdock_c2.rate", 160.0, "delivery_vs_raw"),
        ("delivery.light.p50_ms", 30.0, "light_p50_ms"),
        ("delivery.light.p99_ms", 100.0, "light_p99_ms"),
        ("rss.web.children", 80 * MB, "web_rss_mb_per_process"),
        ("rss.worker2.children", 120 * MB, "worker_rss_mb_per_process"),
    ],
)
def test_a_figure_past_its_bound_misses_only_its_aim(path, value, aim):
    judged = report.aims(with_figure(path, value))
    assert [name for name, verdict in judged.items() if not verdict["met"]] == [aim]


def test_the_table_says_which_aims_were_missed():
    text = report.table(with_figure("ingest.hookdock_fixed.errors", 3))
    assert "errors < 1: **missed**" in text
    assert "p50 < 30: met; p99 < 100: met" in text
    assert text.count("**missed**") == 1


def test_the_table_shows_where_the_webs_cpu_went_at_max_rate():
    results = with_figure("ingest.hookdock_max", {**run(rps=800), "web_cpu_ms": 0.38, "redis_cpu_ms": 0.08, "busiest_worker_share": 0.95})
    results["ingest"]["bare_max"].update(web_cpu_ms=0.23, redis_cpu_ms=0.0, busiest_worker_share=0.5)
    text = report.table(results)
    assert "| Ingest, max rate, web / Redis CPU per request (ms) | 0.38 / 0.08 | bare 204: 0.23 / 0.00 | 2.00 |" in text
    assert "| Ingest, max rate, busiest web worker's share of web CPU | 95 % | bare 204: 50 % |" in text


def test_results_from_before_the_webs_cpu_was_measured_still_make_a_table():
    text = report.table(RESULTS)
    assert "| Ingest, max rate, web / Redis CPU per request (ms) | — / — | bare 204: — / — | — |" in text
