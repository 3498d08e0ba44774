"""Issues (and later issue comments, discussions and their comments)."""
from __future__ import annotations

from bridge.sources.github.common import EventSpec, actions, dig, thread_of

EVENTS = {
    "issues": EventSpec(
        shown=actions("opened", "reopened", "closed"),
        thread=thread_of("issue", dig("issue", "number")), context=lambda payload: {"issue": payload.get("issue") or {}}),
}
