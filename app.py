"""Entry points: `gunicorn app:app` for the web, `celery -A app.celery_app worker` for the worker.

celery_app is made on first use, so a gunicorn worker, which never asks for it, never loads Celery.
"""

import sys

from bridge import MissingRedis, create_app
from bridge.config import ConfigError

try:
    app = create_app()
except (ConfigError, MissingRedis) as exc:
    print(f"hookdock: {exc}", file=sys.stderr, flush=True)
    # 3 is gunicorn's "worker failed to boot": its master then stops instead of respawning the worker forever.
    sys.exit(3)


def __getattr__(name: str):
    """celery_app, for `celery -A app.celery_app`: the Celery app beside the Flask one."""
    if name == "celery_app":
        return app.extensions["celery"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
