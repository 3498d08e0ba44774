"""A deployment never runs on an empty or public webhook secret, and its image holds no private files."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from docker.utils.build import exclude_paths

from tests.support import free_port

PROJECT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
SECRET_LINE = next(i for i, line in enumerate((PROJECT / "bridge.example.yml").read_text().splitlines(), 1) if line.strip().startswith("secret:"))
IGNORED = [line.strip() for line in (PROJECT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_compose_refuses_to_start_without_the_webhook_secret():
    value = COMPOSE["x-hookdock"]["environment"]["GITHUB_WEBHOOK_SECRET"]
    # ${VAR:?message} is compose's "required": unset or empty stops `docker compose up` with the message.
    assert re.fullmatch(r"\$\{GITHUB_WEBHOOK_SECRET:\?[^}]+\}", value), value
    for service in ("web", "worker"):
        assert COMPOSE["services"][service]["environment"]["GITHUB_WEBHOOK_SECRET"] == value


def test_the_web_stops_on_the_empty_secret_compose_used_to_pass(tmp_path):
    """gunicorn serving app:app, as in the image, on the example configuration: it exits instead of respawning."""
    config = tmp_path / "bridge.yml"
    config.write_text((PROJECT / "bridge.example.yml").read_text())
    env = os.environ | {"GITHUB_WEBHOOK_SECRET": "", "HOOKDOCK_CONFIG": str(config), "REDIS_URL": "redis://127.0.0.1:1/0"}
    argv = [sys.executable, "-m", "gunicorn", "app:app", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"]
    web = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=30)
    assert web.returncode != 0
    expected = f"hookdock: {config}:{SECRET_LINE}: routes.widgets.secret: is empty (GITHUB_WEBHOOK_SECRET set to an empty or blank string); fix: export GITHUB_WEBHOOK_SECRET=<the secret>"
    assert expected in web.stderr.splitlines()
    assert "It's a Secret to Everybody" not in web.stderr + web.stdout


def dockerfile_sources() -> set[str]:
    """What the Dockerfile's COPY lines take from the build context."""
    sources = set()
    for line in (PROJECT / "Dockerfile").read_text().splitlines():
        words = shlex.split(line)
        if words[:1] == ["COPY"]:
            sources.update(w.rstrip("/") for w in words[1:-1] if not w.startswith("--"))
    return sources


def test_the_build_context_is_exactly_what_the_dockerfile_copies():
    sent = exclude_paths(str(PROJECT), IGNORED)
    copied = dockerfile_sources()
    # docker sends its own two files whatever .dockerignore says.
    stray = {path for path in sent if not any(path == s or path.startswith(s + "/") for s in copied)} - {"Dockerfile", ".dockerignore"}
    assert not stray, f"sent to the build but never copied: {sorted(stray)[:10]}"
    for source in copied:
        assert source in sent or any(path.startswith(source + "/") for path in sent), f"{source} is copied but not in the build context"


PRIVATE = [
    ".hookdock/appendonlydir/appendonly.aof.1.incr.aof",
    ".hookdock/redis.log",
    "bridge.yml",
    ".env",
    ".venv/bin/python",
    ".git/config",
    "bench/results/latest.json",
    "custom-templates/github/push.txt",
    "tests/test_web.py",
    "bridge/__pycache__/web.cpython-311.pyc",
    ".pytest_cache/v/cache/lastfailed",
]
NEEDED = ["app.py", "requirements.txt", "bridge/web.py", "templates/github/push.txt", "tests/fixtures/github/push__many_commits.json"]


def test_local_data_secrets_history_and_caches_stay_out_of_the_build(tmp_path):
    for path in PRIVATE + NEEDED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    sent = exclude_paths(str(tmp_path), IGNORED)
    assert not sent & set(PRIVATE)
    assert set(NEEDED) <= sent
