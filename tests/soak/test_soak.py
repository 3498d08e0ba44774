"""make soak in small: 200 events through real processes, one worker SIGKILL, one Redis restart."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.soak.__main__ import schedule
from tests.e2e.processes import PROJECT


def test_harm_is_spread_over_the_sending_with_redis_in_the_middle():
    assert schedule(100, 4, 1) == [(100 * i / 6, a) for i, a in enumerate(["kill", "kill", "redis", "kill", "kill"], 1)]
    assert schedule(10, 0, 0) == []


def test_a_small_soak_loses_nothing_and_shows_nothing_twice(tmp_path):
    out = tmp_path / "soak.json"
    argv = [sys.executable, "-m", "bench.soak", "--events", "200", "--rate", "50", "--kills", "1", "--redis-restarts", "1", "--out", str(out)]
    # Bounded: starting the stack, 4 s of sending and a drain of seconds fit well inside this.
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert (report["sent"], report["accepted"], report["delivered"], report["lost"], report["doubled"]) == (200, 200, 200, 0, 0)
    assert (report["worker_kills"], report["redis_restarts"], report["refused"]) == (1, 1, {})
    assert [e["what"] for e in report["timeline"] if e["what"].startswith(("SIGKILL", "Redis"))] == ["Redis stopped", "Redis ready again", "SIGKILL worker1"]
    assert sum(report["random_faults"]["drawn"][k] for k in ("error", "throttle", "timeout")) > 0
    assert report["tasks_received"]["hookdock.process_event"] >= 200
    assert "lost 0, doubled 0" in done.stdout
