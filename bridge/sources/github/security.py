"""Security alerts: code scanning, Dependabot, secret scanning, repository advisories."""
from __future__ import annotations

EVENTS: dict = {}
