"""Count what devflow shows by marker, find the dead letters, and turn both into the soak's figures."""

from __future__ import annotations

import re
from collections import Counter

import requests

from bridge.store import Store

MARKER = re.compile(r"\bsoak-([0-9a-f]+)-(\d+)\b")
# Lost or doubled events listed by number in the report; the counts are always whole.
SAMPLE = 20


def markers_in(text: str, run: str) -> set[int]:
    """The event numbers of this run named in a text."""
    return {int(seq) for found_run, seq in MARKER.findall(text or "") if found_run == run}


class Shown:
    """The chat messages devflow holds, counted per event as they arrive (fetched incrementally)."""

    def __init__(self, devflow_url: str, run: str):
        self.url, self.run = devflow_url, run
        self.counts: Counter[int] = Counter()
        self.last_id = 0
        self.first_sent_ms = 0
        self.last_sent_ms = 0
        self.unmarked = 0
        self.repeats_dropped = 0

    def refresh(self) -> None:
        """Fetch the messages stored since the last refresh and count them."""
        answer = requests.get(f"{self.url}/_devflow/messages", params={"since_id": self.last_id}, timeout=60).json()
        self.add(answer["messages"], answer["duplicates"])

    def add(self, messages: list[dict], duplicates: int) -> None:
        """Count a batch of stored messages; duplicates is devflow's count of posts dropped by uuid."""
        for message in messages:
            found = markers_in(message.get("content"), self.run)
            self.unmarked += not found
            self.counts.update(found)
            self.last_id = max(self.last_id, message["id"])
            self.first_sent_ms = min(self.first_sent_ms or message["sent"], message["sent"])
            self.last_sent_ms = max(self.last_sent_ms, message["sent"])
        self.repeats_dropped = duplicates


def dead_letters(store: Store, run: str) -> dict[int, str]:
    """Events of this run that ended as dead letters or failed events, with the reason."""
    found: dict[int, str] = {}
    for delivery in store.list_deliveries(failed=True, limit=10**6):
        for seq in markers_in(delivery.message.get("content"), run):
            found[seq] = delivery.last_error
    failed_events, _ = store.failed_since(0)
    for event_id in failed_events:
        event = store.load_event(event_id)
        if event is not None:
            for seq in markers_in(event.body.decode(errors="replace"), run):
                found[seq] = event.reason
    return found


def accepted(load: dict) -> set[int]:
    """Events the web answered 202 (or 200 duplicate, after an answer that was lost)."""
    return {r["seq"] for r in load["results"] if r["status"] in (200, 202)}


def unsettled(load: dict, shown: Shown, dead: dict[int, str]) -> set[int]:
    """Accepted events neither shown nor dead-lettered yet."""
    return accepted(load) - set(shown.counts) - set(dead)


def figures(load: dict, shown: Shown, dead: dict[int, str]) -> dict:
    """sent, accepted, delivered, lost (accepted, never shown), doubled (shown more than once), and more."""
    taken = accepted(load)
    lost = sorted(taken - set(shown.counts))
    doubled = sorted(seq for seq, n in shown.counts.items() if n > 1)
    refused = Counter(str(r["status"]) for r in load["results"] if r["seq"] not in taken)
    return {
        "sent": load["events"],
        "accepted": len(taken),
        "refused": dict(refused),
        "sender_retries": sum(r["tries"] - 1 for r in load["results"]),
        "delivered": len(taken & set(shown.counts)),
        "lost": len(lost),
        "lost_sample": lost[:SAMPLE],
        "lost_as_dead_letters": len(set(lost) & set(dead)),
        "doubled": len(doubled),
        "doubled_sample": doubled[:SAMPLE],
        "dead_letters": len(dead),
        "dead_letter_reasons": dict(Counter(dead.values()).most_common(5)),
        "shown_but_not_acknowledged": len(set(shown.counts) - taken),
        "unmarked_messages": shown.unmarked,
        "repeat_posts_dropped_by_uuid": shown.repeats_dropped,
    }
