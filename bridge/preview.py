"""See what hookdock would send, without sending: previews, template checks, context docs."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bridge import offline_services, targets
from bridge.config import Config, Route, Target
from bridge.config_errors import key_lines, where
from bridge.messages import messages_for
from bridge.pipeline import Services
from bridge.render import RenderError
from bridge.samples import event_of, load, sample_paths
from bridge.sources import SOURCES

EXAMPLE_LIMIT = 60
JSON_TYPES = {"str": "string", "dict": "object", "list": "list", "NoneType": "null", "int": "number", "float": "number", "bool": "bool"}


def preview(services: Services, route_name: str, event_name: str, payload: dict, event_id: str = "preview") -> dict:
    """The requests an event would cause, credentials hidden; or why it would be ignored."""
    route = services.config.routes[route_name]
    decision, messages, warnings = messages_for(services, route_name, event_name, payload, event_id, route.targets)
    if decision.template is None:
        return {"ignored": decision.reason, "requests": []}
    requests = []
    for target, message in messages.items():
        settings = services.config.targets[target]
        request = targets.module_of(settings).build(settings, message, targets.Sending(None, route.allow_mentions, services.config.api_url))
        body = request.json if request.json is not None else request.form
        shown = {**body, "flow_token": "***"} if "flow_token" in body else body
        # A webhook URL's path is its secret: shown masked.
        path = targets.redact(urlsplit(request.url).path, targets.secrets_of(settings))
        requests.append({"target": target, "method": request.method, "path": path, "body": shown})
    return {"template": decision.template, "warnings": warnings, "requests": requests}


def route_for_source(services: Services, source: str, route_name: str | None) -> str:
    """The named route, or the first route of that source."""
    if route_name:
        if route_name not in services.config.routes:
            raise KeyError(f"no route named {route_name!r}; routes: {', '.join(services.config.routes)}")
        return route_name
    for name, route in services.config.routes.items():
        if route.source == source:
            return name
    raise KeyError(f"no route has source {source!r}; add one to the configuration or pass --route")


def check_samples(config: Config) -> list[str]:
    """Render every shipped sample through each route's templates; return 'file:line: message (sample)' lines.

    Each route is probed with every action named, a chat and a thread target, and no fallback,
    so hidden actions, thread templates and failing overrides are all rendered and reported.
    """
    probe_targets = {"chat": Target(org="probe", flow="probe", token="probe"), "thread": Target(flow_token="probe")}
    errors = set()
    for route_name, route in config.routes.items():
        probe = Route(
            source=route.source,
            secret="probe",
            targets=list(probe_targets),
            templates_dir=route.templates_dir,
            events=["*", "*.*"],
            allow_mentions=route.allow_mentions,
            generic=route.generic,
        )
        services = offline_services(config.model_copy(update={"targets": probe_targets, "routes": {route_name: probe}, "templates_fallback": False}))
        if route.generic is not None:
            renderer = services.renderer_for(route_name)
            if not renderer.exists(route.generic.template):
                errors.add(
                    f"{where_in(config, ('routes', route_name, 'generic', 'template'))} no template {route.generic.template} in {', '.join(renderer.search_path[:-1]) or 'the built-in ones'}; fix: create it under the route's templates_dir"
                )
                continue
        for path in generic_samples(config, route) if route.generic is not None else sample_paths(route.source):
            try:
                messages_for(services, route_name, event_of(path), load(path), "check", list(probe_targets))
            except RenderError as exc:
                errors.add(f"{exc} (sample {path.name})")
            except (OSError, ValueError) as exc:  # a generic route's own sample that is missing or not JSON
                errors.add(f"{where_in(config, ('routes', route_name, 'generic', 'samples'))} {path}: {exc}; fix: point it at a JSON payload file")
    return sorted(errors)


def where_in(config: Config, loc: tuple) -> str:
    """'file:line: dotted.key:' for a key of the configuration file, read again since Config keeps no lines."""
    try:
        node = yaml.compose(Path(config.path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        node = None
    return where(config.path, key_lines(node) if node is not None else {}, loc)


def generic_samples(config: Config, route: Route) -> list[Path]:
    """A generic route's own sample payloads, relative to the configuration file."""
    folder = Path(config.path).resolve().parent
    return [path if (path := Path(name)).is_absolute() else folder / path for name in (route.generic.samples if route.generic else [])]


def describe_context(source: str, event: str) -> list[tuple[str, str, str]]:
    """(variable, type, example) for what a template of this event receives, from a real sample."""
    paths = sample_paths(source, event)
    if source not in SOURCES or not paths:
        raise KeyError(f"no {source} sample for event {event!r}; samples: {', '.join(sorted({event_of(p) for p in sample_paths(source)}))}")
    context = SOURCES[source].context(event, load(paths[0]))
    return [(name, JSON_TYPES.get(type(value).__name__, type(value).__name__), example(value)) for name, value in context.items()]


def example(value) -> str:
    """A one-line picture of a value: its keys, its length, or itself, cut short."""
    if isinstance(value, dict):
        return "keys: " + ", ".join(value)
    if isinstance(value, list):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}" + (
            f", each with keys: {', '.join(value[0])}" if value and isinstance(value[0], dict) else ""
        )
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= EXAMPLE_LIMIT else text[: EXAMPLE_LIMIT - 1] + "…"
