"""The CLI: options, defaults, and a real `python -m bridge.devflow --port 0` process."""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bridge.devflow import cli

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(argv)


def test_defaults():
    args = parse()
    assert (args.host, args.port, args.user, args.flow) == ("127.0.0.1", 5050, None, None)
    state = cli.build_state(args)
    assert [(u.token, u.id, u.nick) for u in state.users] == [("devflow-token", 1, "dev")]
    assert [(f.org, f.name, f.flow_token, f.members) for f in state.flows] == [("acme", "main", "devflow-flow-token", {1})]


def test_users_and_flows_replace_defaults():
    state = cli.build_state(parse("--user", "t:o:k:7:ann", "--user", "b:8:bob", "--flow", "web/ops:ft", "--flow", "web/dev-team"))
    assert [(u.token, u.id, u.nick) for u in state.users] == [("t:o:k", 7, "ann"), ("b", 8, "bob")]
    assert [(f.org, f.name, f.flow_token, f.members) for f in state.flows] == [("web", "ops", "ft", {7, 8}), ("web", "dev-team", None, {7, 8})]
    only_users = cli.build_state(parse("--user", "b:8:bob"))
    assert [(f.org, f.name, f.members) for f in only_users.flows] == [("acme", "main", {8})]


@pytest.mark.parametrize("option", [["--user", "secret-token:x:bob"], ["--flow", "Acme/Main"], ["--flow", "acme"]])
def test_bad_options_are_rejected_without_echoing_tokens(option, capsys):
    with pytest.raises(SystemExit):
        parse(*option)
    assert "secret-token" not in capsys.readouterr().err


def _read_line(stream, deadline: float) -> str:
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            return stream.readline()
    raise AssertionError("devflow did not print its listening line in time")


def test_process_serves_and_stops_cleanly_on_sigterm():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.devflow", "--port", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        line = _read_line(proc.stdout, time.monotonic() + 15)
        assert line.startswith("devflow listening on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        assert int(url.rsplit(":", 1)[1]) > 0
        r = requests.post(
            url + "/flows/acme/main/messages",
            json={"event": "message", "content": "hi"},
            auth=("devflow-token", ""),
            timeout=5,
            headers={"Accept": "application/json", "X-flowdock-wait-for-message": "true"},
        )
        assert r.status_code == 200 and r.json()["content"] == "hi"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
