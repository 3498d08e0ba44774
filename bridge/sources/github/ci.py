"""CI and deployment events: workflow runs and jobs, check runs and suites, statuses, deployments."""
from __future__ import annotations

EVENTS: dict = {}
