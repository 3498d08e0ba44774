"""The deployment files say what the README promises: durable Redis, web and worker with health checks."""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())


def test_redis_keeps_an_append_only_file_and_never_evicts():
    command = " ".join(COMPOSE["services"]["redis"]["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert COMPOSE["services"]["redis"]["volumes"] == ["redis-data:/data"]


def test_web_and_worker_share_one_image_and_have_health_checks():
    web, worker = COMPOSE["services"]["web"], COMPOSE["services"]["worker"]
    assert web["build"] == worker["build"] == "."
    assert worker["command"][:4] == ["celery", "-A", "app.celery_app", "worker"]
    assert "gunicorn" in (PROJECT / "Dockerfile").read_text() and "app:app" in (PROJECT / "Dockerfile").read_text()
    for service in COMPOSE["services"].values():
        assert service["healthcheck"]["test"]


def test_template_overrides_are_mounted_where_hookdock_looks():
    web = COMPOSE["services"]["web"]
    assert "./custom-templates:/custom-templates:ro" in web["volumes"]
    assert web["environment"]["HOOKDOCK_TEMPLATES"] == "/custom-templates"
