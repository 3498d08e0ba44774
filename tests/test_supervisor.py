"""serve's start-up refusals: no secret, an empty one, or the public demo secret outside the demo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bridge.__main__ import main
from bridge.demo import DEMO_SECRET, secret_if_unset
from tests.support import free_port

EXAMPLE = Path(__file__).parent.parent / "bridge.example.yml"
SECRET_LINE = next(i for i, line in enumerate(EXAMPLE.read_text().splitlines(), 1) if line.strip().startswith("secret:"))


@pytest.fixture
def nothing_may_start(monkeypatch, tmp_path):
    """Fail the test if serve starts any process; run it from an empty folder."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"serve started {args[0][0]} although it should have refused")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def serve(*extra: str) -> int:
    return main(["serve", "--config", str(EXAMPLE), "--data-dir", "data", "--port", str(free_port()), *extra])


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, "routes.widgets.secret: environment variable GITHUB_WEBHOOK_SECRET is not set; fix: export GITHUB_WEBHOOK_SECRET=<the secret>"),
        ("", "routes.widgets.secret: is empty (GITHUB_WEBHOOK_SECRET set to an empty or blank string); fix: export GITHUB_WEBHOOK_SECRET=<the secret>"),
    ],
    ids=["unset", "empty"],
)
def test_serve_refuses_without_a_secret(nothing_may_start, monkeypatch, capsys, value, expected):
    if value is None:
        monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", value)
    assert serve() == 1
    assert capsys.readouterr().err == f"hookdock: {EXAMPLE}:{SECRET_LINE}: {expected}\n"
    assert not (nothing_may_start / "data").exists()


def test_an_empty_secret_is_refused_even_for_the_demo(nothing_may_start, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "")
    assert serve("--with-devflow", "--devflow-port", str(free_port())) == 1
    assert "is empty (GITHUB_WEBHOOK_SECRET set to an empty or blank string)" in capsys.readouterr().err


def test_serve_without_devflow_refuses_the_public_demo_secret(nothing_may_start, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", DEMO_SECRET)
    assert serve() == 1
    assert capsys.readouterr().err == (
        "hookdock: routes.widgets.secret is the README's public demo secret, with which anyone can sign deliveries; "
        "fix: set GITHUB_WEBHOOK_SECRET (or the route's secret) to a secret of your own; the demo secret is only for serve --with-devflow\n"
    )
    assert not (nothing_may_start / "data").exists()


@pytest.mark.parametrize("before", [None, "mine"], ids=["unset", "set"])
def test_the_demo_secret_is_supplied_only_while_inside_and_only_when_unset(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", before)
    with secret_if_unset() as supplied:
        assert supplied == (before is None)
        assert os.environ["GITHUB_WEBHOOK_SECRET"] == (before or DEMO_SECRET)
    assert os.environ.get("GITHUB_WEBHOOK_SECRET") == before
    with secret_if_unset(False) as supplied:
        assert not supplied and os.environ.get("GITHUB_WEBHOOK_SECRET") == before
