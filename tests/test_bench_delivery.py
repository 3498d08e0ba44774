"""bench/delivery.py reads devflow's messages as they arrive, each once."""

from __future__ import annotations

from types import SimpleNamespace

import requests

from bench import delivery
from bench.stack import Devflow

TOKEN = ("devflow-token", "")


def post(url: str, text: str) -> None:
    requests.post(f"{url}/flows/acme/main/messages", json={"event": "message", "content": text}, auth=TOKEN, timeout=5).raise_for_status()


def test_stored_times_reads_each_message_once_and_waits_for_the_count(chat, monkeypatch):
    devflow = Devflow(chat.url)
    for text in ("one", "two", "three"):
        post(chat.url, text)
    asked: list[int] = []
    read = devflow.messages

    def messages(since_id: int = 0) -> list[dict]:
        asked.append(since_id)
        found = read(since_id)
        if len(asked) == 1:
            post(chat.url, "four")  # arrives between two polls
        return found

    monkeypatch.setattr(devflow, "messages", messages)
    times = delivery.stored_times(SimpleNamespace(devflow=devflow), 4, timeout=10)
    stored = read()
    assert times == sorted(m["sent"] for m in stored) and len(times) == 4
    assert asked == [0, stored[2]["id"]]
