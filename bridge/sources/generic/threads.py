"""The thread id of a generic route: a small Jinja template, rendered in the same sandbox as messages."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import ChainableUndefined, Template

from bridge.filters import FILTERS
from bridge.render import LimitedSandbox

ENV = LimitedSandbox(undefined=ChainableUndefined, autoescape=False)
ENV.filters.update(FILTERS)


@lru_cache(maxsize=256)
def compile_thread(source: str) -> Template:
    """The compiled thread template; raises TemplateSyntaxError."""
    return ENV.from_string(source)


def render_thread(source: str, context: dict) -> str:
    """The thread id it gives for this event, stripped; '' when the payload leaves it blank."""
    return compile_thread(source).render(context).strip()
