"""The soak's counting: lost, doubled and dead letters found from a real devflow and a real Redis."""

from __future__ import annotations

import redis
import requests

from bench.soak import tally
from bench.soak.load import marker
from bridge.store import Delivery, Store

RUN = "0a1b2c3d"
AUTH = ("devflow-token", "")


def say(chat_url: str, text: str, uuid: str) -> None:
    body = {"event": "message", "content": text, "uuid": uuid}
    r = requests.post(f"{chat_url}/flows/acme/main/messages", json=body, auth=AUTH, headers={"Accept": "application/json"}, timeout=5)
    assert r.status_code == 202, r.text


def load(statuses: dict[int, object]) -> dict:
    return {"events": len(statuses), "results": [{"seq": seq, "status": s, "event": None, "tries": 1} for seq, s in statuses.items()]}


def test_markers_name_only_this_runs_events():
    text = f"- 1a2b3c4 {marker(RUN, 7)} change 0\n- 5d6e7f8 {marker(RUN, 7)} change 1\n- {marker('ffffffff', 8)}; soak-{RUN}-x"
    assert tally.markers_in(text, RUN) == {7}


def test_lost_doubled_and_repeats_are_counted_from_devflow(chat, redis_url):
    for seq in (0, 1, 3):
        say(chat.url, f"pushed {marker(RUN, seq)}", uuid=f"u{seq}")
    say(chat.url, f"pushed {marker(RUN, 1)}", uuid="another-uuid")  # the same event shown twice
    say(chat.url, f"pushed {marker(RUN, 0)}", uuid="u0")  # a repeat devflow drops by uuid
    say(chat.url, "someone else's message", uuid="x")
    shown = tally.Shown(chat.url, RUN)
    shown.refresh()
    say(chat.url, f"pushed {marker(RUN, 4)}", uuid="u4")
    shown.refresh()  # only the new message is fetched and counted
    store = Store(redis.Redis.from_url(redis_url), 3600)
    dead = Delivery("e5.soak-chat", "e5", "soak", "soak-chat", {"event": "message", "content": f"pushed {marker(RUN, 5)}"}, status="failed")
    dead.last_error = "soak-chat: gave up after 20 attempts"
    store.save_delivery(dead)
    letters = tally.dead_letters(store, RUN)
    sent = load({0: 202, 1: 202, 2: 202, 3: 200, 4: 202, 5: 202, 6: 503})
    figures = tally.figures(sent, shown, letters)
    assert letters == {5: "soak-chat: gave up after 20 attempts"}
    assert {
        k: figures[k] for k in ("sent", "accepted", "refused", "delivered", "lost", "lost_sample", "lost_as_dead_letters", "doubled", "doubled_sample")
    } == {
        "sent": 7,
        "accepted": 6,
        "refused": {"503": 1},
        "delivered": 4,
        "lost": 2,
        "lost_sample": [2, 5],
        "lost_as_dead_letters": 1,
        "doubled": 1,
        "doubled_sample": [1],
    }
    assert (figures["unmarked_messages"], figures["repeat_posts_dropped_by_uuid"], figures["dead_letters"]) == (1, 1, 1)
    assert tally.unsettled(sent, shown, letters) == {2}
