"""Entry points: `gunicorn app:app` for the web, `celery -A app.celery_app worker` for the worker."""

import sys

from bridge import MissingRedis, create_app
from bridge.config import ConfigError

try:
    app = create_app()
except (ConfigError, MissingRedis) as exc:
    sys.exit(f"hookdock: {exc}")
celery_app = app.extensions["celery"]
