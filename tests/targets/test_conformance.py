"""Every GitHub fixture to every target type, in-process: each request passes its chat's documented rules (devflow's checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge import offline_services
from bridge.messages import messages_for
from bridge.targets import Sending, module_of
from tests.support import FIXTURES
from tests.targets.conftest import OTHERS, config_for
from tests.targets.test_shapes import problems

CASES = sorted((FIXTURES / "github").glob("*__*.json"))
# Every action named, so hidden ones are rendered too; both the whole card and a reply under a root.
SERVICES = offline_services(config_for("http://127.0.0.1:9", route=', events: ["*", "*.*"]'))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_fixture_fits_every_chat(path: Path):
    event, payload = path.stem.split("__")[0], json.loads(path.read_text())
    _, sent, _ = messages_for(SERVICES, "all", event, payload, "fixture", OTHERS)
    for name, message in sent.items():
        settings = SERVICES.config.targets[name]
        for root in (None, "ROOT") if module_of(settings).ROOTS else (None,):
            request = module_of(settings).build(settings, message, Sending(root))
            body = request.json if request.json is not None else request.form
            assert problems(name, body) == [], (name, root)
            text = json.dumps(body, ensure_ascii=False)
            assert "None" not in text or "None" in path.read_text(), (name, text)
