"""Turn a rendered event into a message for each target: chat or thread activity, in Flowdock's body (other targets adapt it)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, partial
from typing import TYPE_CHECKING

from bridge import alerts, builds
from bridge.config import Route
from bridge.config_base import TargetSettings
from bridge.filters import hush
from bridge.links import safe_activity
from bridge.payload import prepare, prepare_quieted, shortened, view
from bridge.render import Renderer, RenderError, RenderTooLong
from bridge.routing import asks_for, drop_reason, full_name
from bridge.shape import conform, thread_id
from bridge.sources import Decision, source_for
from bridge.targets import flowdock

if TYPE_CHECKING:
    from bridge.pipeline import Services

# What a required text that the payload left blank reads instead.
BLANK_TEMPLATES = {"title": "_untitled.txt", "author": "_anonymous.txt"}


class Rendition:
    """An event's templates, each rendered at most once however many targets it goes to."""

    def __init__(self, renderer: Renderer, decision: Decision, context: dict, fallback: Renderer | None = None, prose: Callable[[str], str] = str):
        if decision.template is None:
            raise ValueError("an ignored event has no template to render")
        self.renderer, self.decision, self.context, self.fallback = renderer, decision, context, fallback
        self.template: str = decision.template
        # Applied to every rendered text people read (hush, unless the route allows mentions).
        self.prose = prose
        self.warnings: list[str] = []

    @property
    def thread_template(self) -> str:
        """github/push.txt is told as a thread by github/push.thread.json."""
        return self.template.removesuffix(".txt") + ".thread.json"

    @cached_property
    def content(self) -> str:
        """The chat text."""
        return self._with_fallback(partial(render_content, prose=self.prose), self.template)

    @cached_property
    def activity(self) -> dict | None:
        """Title, author, body and thread state for thread targets; None when the event has no thread."""
        if self.decision.thread is None or not self.renderer.exists(self.thread_template):
            return None
        try:
            activity = self._with_fallback(Renderer.render_json, self.thread_template)
        except RenderTooLong:
            # Each field is cut to fit, but several huge ones together can outgrow the limit: cut them all short.
            activity = self._with_fallback(Renderer.render_json, self.thread_template, shortened(self.context))
        return conform(safe_activity(activity), lambda what: self.renderer.render(BLANK_TEMPLATES[what], self.context, self.prose), self.prose)

    def _with_fallback(self, render, name: str, context: dict | None = None):
        """Render with the route's templates; if an override fails and fallback is on, use the built-in one."""
        context = self.context if context is None else context
        try:
            return render(self.renderer, name, context)
        except RenderError as exc:
            # An override may be the template itself or a macro file it imports: any override counts.
            if self.fallback is None or not self.renderer.has_overrides or not self.fallback.exists(name):
                raise
            self.warnings.append(str(exc))
            return render(self.fallback, name, context)


def render_content(renderer: Renderer, name: str, context: dict, prose: Callable[[str], str] = str) -> str:
    """Chat text; empty text is a template failure here, not a 400 from the chat API later."""
    text = renderer.render(name, context, prose)
    if not text:
        raise RenderError(f"{renderer.origin(name) or name}: rendered empty content; Flowdock refuses a message without content")
    return text


def compose(rendition: Rendition, route: Route, event_name: str, event_id: str, target_name: str, target: TargetSettings) -> dict | None:
    """The message body for one target, without credentials (the uuid is the same on every attempt); None for none."""
    common = {"tags": list(dict.fromkeys([route.source, event_name, *route.tags])), "uuid": flowdock.message_uuid(event_id, target_name)}
    thread = rendition.decision.thread
    if target.threaded and thread is not None and rendition.activity is not None:
        return {"event": "activity", **rendition.activity, "external_thread_id": thread_id(thread), **common}
    if not rendition.decision.chat:
        return None  # routine progress belongs in threads only
    message = {"event": "message", "content": rendition.content, **common}
    sender = getattr(target, "external_user_name", None)  # Flowdock's alone
    return {**message, "external_user_name": sender} if sender else message


def messages_for(
    services: Services, route_name: str, event_name: str, payload: dict, event_id: str, targets: list[str], history: builds.History = builds.unknown
) -> tuple[Decision, dict[str, dict], list[str]]:
    """The decision, the message each target would receive, and the fallbacks taken; raises RenderError.

    history: what the worker knows of earlier builds and alert notifications (bridge/build_history.py); previews know nothing.
    """
    route = services.config.routes[route_name]
    source = source_for(route_name, route)
    # What templates are shown cannot ping anyone unless the route allows it; everything else reads the payload as sent.
    if route.allow_mentions:
        payload = shown = prepare(payload)
    else:
        payload, shown = prepare_quieted(payload)
    decision = source.classify(event_name, payload)
    # A CI build or an alert group: both are judged against what the route received before.
    build: builds.Tracked | None = builds.of(source, event_name, payload) or alerts.of(source, event_name, payload)
    # Recorded before the filters: the history holds every build the route received, shown or not.
    verdict = history(build) if build is not None and decision.template is not None else None
    if decision.template is not None:
        facts = source.facts(event_name, payload)
        dropped = drop_reason(route_name, route, event_name, decision, facts)
        decision = Decision(None, dropped) if dropped else decision
        if build is not None and verdict is not None:
            asked = getattr(source, "ROUTINE_ON_REQUEST", False) and asks_for(route, full_name(event_name, facts))
            decision = build.judge(decision, verdict, asked)
    if decision.template is None:
        return decision, {}, []
    prose = str if route.allow_mentions else hush
    context = source.context(event_name, shown)
    if build is not None:
        context["verdict"] = build.verdict_context(verdict or builds.Verdict())
    rendition = Rendition(services.renderer_for(route_name), decision, view(context), services.fallback, prose)
    messages = {t: compose(rendition, route, event_name, event_id, t, services.config.targets[t]) for t in targets}
    return decision, {t: m for t, m in messages.items() if m is not None}, rendition.warnings
