"""Entry points: `gunicorn app:app` for the web, `celery -A app.celery_app worker` for the worker."""

import sys

from bridge import MissingRedis, create_app
from bridge.config import ConfigError

try:
    app = create_app()
except (ConfigError, MissingRedis) as exc:
    print(f"hookdock: {exc}", file=sys.stderr, flush=True)
    # 3 is gunicorn's "worker failed to boot": its master then stops instead of respawning the worker forever.
    sys.exit(3)
celery_app = app.extensions["celery"]
