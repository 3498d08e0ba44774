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


def test_every_way_of_running_the_web_loads_the_one_gunicorn_configuration():
    """make run (serve), the Dockerfile (so docker-compose) and the bench start gunicorn with gunicorn.conf.py."""
    import argparse

    from bench.stack import GUNICORN
    from bridge.supervisor import GUNICORN_CONF, child_commands

    args = argparse.Namespace(host="127.0.0.1", port=8000, web_workers=2, concurrency=2, with_devflow=False, devflow_port=0)
    [web] = [argv for name, argv in child_commands(args) if name == "web"]
    assert web[web.index("--config") + 1] == str(GUNICORN_CONF) == str(PROJECT / "gunicorn.conf.py")
    assert GUNICORN[GUNICORN.index("--config") + 1] == str(PROJECT / "gunicorn.conf.py")
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:app", "--bind", "0.0.0.0:8000"]' in dockerfile
    assert "COPY app.py gunicorn.conf.py ./" in dockerfile
    assert "command" not in COMPOSE["services"]["web"]  # the image's CMD, so the same file


def test_the_gunicorn_configuration_guards_against_slow_clients():
    settings = {}
    exec((PROJECT / "gunicorn.conf.py").read_text(), settings)
    assert settings["worker_class"] == "gevent" and 0 < settings["worker_connections"] <= 1000
    assert settings["keepalive"] > 0  # the gevent worker's header-read timeout; 0 would turn it off
    assert "%(q)s" not in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"] and "%(u)s" not in settings["access_log_format"]
    assert "gevent==" in (PROJECT / "requirements.txt").read_text()


def test_every_way_of_running_the_worker_runs_solo_processes_one_task_each():
    """serve runs --concurrency solo workers under names of their own; docker-compose runs solo replicas; the bench, the soak and the e2e tests use serve's command."""
    import argparse

    from bridge.supervisor import child_commands, worker_command

    args = argparse.Namespace(host="127.0.0.1", port=8000, web_workers=2, concurrency=3, with_devflow=False, devflow_port=0)
    workers = {name: argv for name, argv in child_commands(args) if name.startswith("worker")}
    assert list(workers) == ["worker1", "worker2", "worker3"]
    for name, argv in workers.items():
        assert argv == worker_command(name)
        assert argv[argv.index("--pool") + 1] == "solo" and argv[argv.index("--hostname") + 1] == f"{name}@%h"
        assert argv[argv.index("--concurrency") + 1] == "1"  # Celery's banner otherwise shows the CPU count
    assert [name for name, _ in child_commands(argparse.Namespace(**{**vars(args), "concurrency": 1}))] == ["worker", "web"]
    compose = COMPOSE["services"]["worker"]
    assert compose["command"][compose["command"].index("--pool") + 1] == "solo" and compose["command"][compose["command"].index("--concurrency") + 1] == "1"
    assert compose["deploy"]["replicas"] == 2
    for harness in ("bench/stack.py", "tests/e2e/processes.py"):
        assert "worker_command(" in (PROJECT / harness).read_text()
