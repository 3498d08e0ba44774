"""bench/ingest.py shares out the web's and Redis' CPU over a max-rate run's requests."""

from __future__ import annotations

import pytest

from bench import ingest


def test_cpu_is_shared_out_per_request_and_the_busiest_worker_named_by_its_share():
    split = ingest.cpu_split([0.9, 0.1], 0.2, 2000)
    assert split == {"web_cpu_ms": 0.5, "redis_cpu_ms": 0.1, "busiest_worker_share": 0.9}


@pytest.mark.parametrize(("spent", "requests"), [([0.0, 0.0], 10), ([0.1, 0.1], 0)])
def test_a_run_with_no_requests_or_no_web_cpu_gives_no_figure_rather_than_an_error(spent, requests):
    split = ingest.cpu_split(spent, 0.0, requests)
    assert (split["web_cpu_ms"] is None) == (requests == 0)
    assert (split["busiest_worker_share"] is None) == (sum(spent) == 0)


def test_a_run_whose_web_worker_was_replaced_gives_no_figures():
    assert ingest.cpu_split([], 0.0, 0) == {"web_cpu_ms": None, "redis_cpu_ms": None, "busiest_worker_share": None}
