"""The README's public webhook secret: supplied only where it can guard no real webhook."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.config import Config

# Printed in the README so its sample curl is signed: anyone can forge deliveries with it.
DEMO_SECRET = "It's a Secret to Everybody"
SECRET_VARIABLE = "GITHUB_WEBHOOK_SECRET"


@contextmanager
def secret_if_unset(wanted: bool = True) -> Iterator[bool]:
    """Inside, an unset GITHUB_WEBHOOK_SECRET reads as the demo secret (an empty one stays an error); yields whether it was supplied."""
    supplied = wanted and SECRET_VARIABLE not in os.environ
    if supplied:
        os.environ[SECRET_VARIABLE] = DEMO_SECRET
    try:
        yield supplied
    finally:
        if supplied:
            os.environ.pop(SECRET_VARIABLE, None)


def routes_using_it(config: Config) -> list[str]:
    """Names of the routes whose webhook secret is the public demo secret."""
    return [name for name, route in config.routes.items() if route.secret is not None and route.secret.get_secret_value() == DEMO_SECRET]
