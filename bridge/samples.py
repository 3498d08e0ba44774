"""Real payloads shipped with hookdock (tests/fixtures), for previews, checks and context docs."""

from __future__ import annotations

import json
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def sample_paths(source: str, event: str | None = None) -> list[Path]:
    """Every <event>__<variant>.json of a source, or of one event."""
    return sorted((SAMPLES_DIR / source).glob(f"{event}__*.json" if event else "*__*.json"))


def event_of(path: Path) -> str:
    """push__forced.json is a push."""
    return path.stem.split("__")[0]


def load(path: Path) -> dict:
    """A sample's payload."""
    return json.loads(path.read_text(encoding="utf-8"))
