"""Repository and hook events: ping (and later stars, forks, members, wiki pages, packages)."""
from __future__ import annotations

from bridge.sources.github.common import EventSpec

EVENTS = {
    "ping": EventSpec(),
}
