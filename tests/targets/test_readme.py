"""The README's "Choosing a chat" configuration is valid as written, one target of every type."""

from __future__ import annotations

import re
from pathlib import Path

from bridge.config import parse_config
from bridge.targets import TARGETS

PROJECT = Path(__file__).resolve().parents[2]


def test_the_readmes_chat_configuration_is_valid(monkeypatch):
    block = (PROJECT / "README.md").read_text().split("<!-- chats-config -->", 1)[1].split("```")[1].removeprefix("yaml\n")
    for variable in set(re.findall(r"\$\{(\w+)\}", block)):
        monkeypatch.setenv(variable, f"https://chat.example.com/{variable.lower()}" if variable.endswith("_URL") else f"{variable.lower()}-value")
    config = parse_config(block, "README.md")
    assert {target.type for target in config.targets.values()} == set(TARGETS)


def test_every_setting_of_every_chat_is_named_in_choosing_a_chat():
    section = (PROJECT / "README.md").read_text().split("## Choosing a chat", 1)[1].split("\n## ", 1)[0]
    for name, module in TARGETS.items():
        if name == "flowdock":
            continue  # Flowdock's settings are in the Configuration table
        missing = [key for key in module.Settings.model_fields if key != "type" and f"{key}:" not in section and f"`{key}`" not in section]
        assert not missing, f"{name}: {missing}"
