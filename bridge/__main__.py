"""The command line: python -m bridge {serve,check,templates,render,deliveries,events,replay,devflow}."""

from __future__ import annotations

import argparse
import json
import os
import sys

from bridge import MissingRedis, demo
from bridge.config import ConfigError, find_path, load_config
from bridge.embedded import DEFAULT_DATA_DIR

# These read bridge.yml but never check a webhook's signature, so after `make run` they work
# with the demo secret too; check (which predicts start-up) and serve insist on a real one.
VERIFY_NO_SIGNATURE = frozenset({"templates", "render", "deliveries", "events", "replay"})
# What a Unix tool whose reader went away exits with: killed by SIGPIPE (128 + 13).
BROKEN_PIPE_EXIT = 141


def cmd_check(args) -> int:
    """Validate the configuration, compile every template, and render every shipped sample."""
    from bridge import offline_services
    from bridge.preview import check_samples

    config = load_config(args.config)
    services = offline_services(config)
    renderers = services.renderers.values()
    errors = sorted({line for renderer in renderers for line in renderer.check()}) or check_samples(config)
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        return 1
    names = {name for renderer in renderers for name in renderer.env.list_templates()}
    print(f"{find_path(args.config)}: ok (routes: {len(config.routes)}, targets: {len(config.targets)}, templates: {len(names)})")
    return 0


def cmd_templates(args) -> int:
    """List every template with the file it is loaded from, or the variables one event's templates get."""
    from bridge import offline_services
    from bridge.preview import describe_context

    if args.context:
        try:
            rows = describe_context(*args.context)
        except KeyError as exc:
            print(f"hookdock: {exc.args[0]}", file=sys.stderr)
            return 1
        width = max(len(name) for name, _, _ in rows)
        for name, kind, sample in rows:
            print(f"{name:<{width}}  {kind:<6}  {sample}")
        return 0
    services = offline_services(load_config(args.config))
    if args.route and args.route not in services.config.routes:
        print(f"hookdock: no route named {args.route!r}", file=sys.stderr)
        return 1
    renderer = services.renderer_for(args.route or "")
    for name in renderer.env.list_templates():
        origin = renderer.origin(name)
        print(f"{name:<40} {'built-in' if renderer.is_builtin(name) else 'override'}  {origin}")
    return 0


def cmd_render(args) -> int:
    """Print, as JSON, the requests an event would cause; send nothing."""
    from bridge import build_services, offline_services, redis_url_from_env
    from bridge.preview import preview, route_for_source
    from bridge.sources import source_for

    config = load_config(args.config)
    if args.event_id:
        services = build_services(config, redis_url_from_env())
        event = services.store.load_event(args.event_id)
        if event is None:
            print(f"hookdock: no event {args.event_id!r} (it may have expired)", file=sys.stderr)
            return 1
        route = config.routes.get(event.route)
        if route is None:
            print(f"hookdock: event {args.event_id!r} came to route {event.route!r}, which is no longer configured", file=sys.stderr)
            return 1
        name, payload = source_for(event.route, route).parse(event.headers, event.body)
        result = preview(services, event.route, name, payload, event.id)
    else:
        if not (args.source and args.event and args.payload):
            print("hookdock: give --source, --event and a PAYLOAD.json file (or - for stdin), or --event-id ID", file=sys.stderr)
            return 2
        services = offline_services(config)
        try:
            route = route_for_source(services, args.source, args.route)
            text = sys.stdin.read() if args.payload == "-" else open(args.payload, encoding="utf-8").read()
            payload = json.loads(text)
        except (KeyError, OSError, ValueError) as exc:
            print(f"hookdock: {exc.args[0] if isinstance(exc, KeyError) else exc}", file=sys.stderr)
            return 1
        result = preview(services, route, args.event, payload)
    for warning in result.get("warnings", []):
        print(f"hookdock: template error, built-in used: {warning}", file=sys.stderr)
    if "ignored" in result:
        print(f"hookdock: ignored: {result['ignored']}", file=sys.stderr)
    print(json.dumps(result["requests"], indent=2, ensure_ascii=False))
    return 0


def cmd_serve(args) -> int:
    """Run Redis (embedded unless REDIS_URL is set), the web, the worker and optionally devflow."""
    from bridge.supervisor import serve

    return serve(args)


def cmd_deliveries(args) -> int:
    """List recent deliveries, newest first."""
    from bridge import build_services, redis_url_from_env

    store = build_services(load_config(args.config), redis_url_from_env()).store
    found = store.list_deliveries(failed=args.failed, route=args.route, limit=args.limit)
    if args.json:
        print(json.dumps([vars(d) for d in found], indent=2))
        return 0
    for d in found:
        print(f"{d.id}  {d.status:<9} {d.route}->{d.target}  HTTP {d.last_status or '-'}  {len(d.attempts)} attempt(s)  {d.last_error[:80]}")
    if args.failed and store.list_events(failed=True, route=args.route, limit=1):
        print("hookdock: some events failed before any delivery was made; see python -m bridge events --failed", file=sys.stderr)
    return 0


def cmd_events(args) -> int:
    """List recent events, newest first, with what became of each and why."""
    from bridge import admin, build_services, redis_url_from_env

    found = admin.events_view(build_services(load_config(args.config), redis_url_from_env()), args.failed, args.route, args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for e in found:
        print(f"{e['id']}  {e['status']:<9} {e['route']}  {e['name']:<20} {e['reason'][:100]}")
    return 0


def cmd_replay(args) -> int:
    """Queue an event, a delivery, or every failure again, rendered with today's templates."""
    from bridge import admin, create_app

    if bool(args.id) == bool(args.failed):
        print("hookdock: give an event or delivery id, or --failed [--since T]", file=sys.stderr)
        return 2
    app = create_app(load_config(args.config))
    services = app.extensions["hookdock"]
    try:
        if args.id:
            replayed = admin.replay(services, args.id)
            print(f"queued {replayed['replayed']} again for {', '.join(replayed['targets']) or 'its route'}")
            return 0
        queued = admin.replay_failed(services, admin.parse_since(args.since))
    except (admin.NotFound, ValueError) as exc:  # Refused is a ValueError
        print(f"hookdock: {exc}", file=sys.stderr)
        return 1
    for item in queued:
        print(f"queued {item}")
    print(f"{len(queued)} item(s) queued again")
    return 0


def cmd_devflow(args) -> int:
    """Run the Flowdock-compatible development server."""
    from bridge.devflow import cli

    return cli.run(args)


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands in a table: name -> (handler, help, extra arguments)."""
    parser = argparse.ArgumentParser(
        prog="python -m bridge", description="hookdock: webhooks to chat (Flowdock, Slack, Mattermost, Teams, Discord, Matrix, Zulip)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, handler, help_text):
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(handler=handler)
        if name != "devflow":
            command.add_argument("--config", help="configuration file (default: $HOOKDOCK_CONFIG or ./bridge.yml)")
        return command

    add("check", cmd_check, "validate bridge.yml and compile every template")
    serve = add("serve", cmd_serve, "run the bridge: Redis (embedded by default), web and worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--web-workers", type=int, default=2)
    serve.add_argument("--concurrency", type=int, default=2, help="delivery worker processes (solo Celery processes, one task at a time each)")
    serve.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where the embedded Redis keeps its data")
    serve.add_argument("--with-devflow", action="store_true", help="also run devflow, the development chat server")
    serve.add_argument("--devflow-port", type=int, default=5050)
    deliveries = add("deliveries", cmd_deliveries, "list recent deliveries")
    deliveries.add_argument("--failed", action="store_true", help="only dead letters")
    deliveries.add_argument("--route")
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.add_argument("--json", action="store_true")
    events = add("events", cmd_events, "list recent events and what became of them")
    events.add_argument("--failed", action="store_true", help="only failed events (a template error, a bug, a worker that kept dying)")
    events.add_argument("--route")
    events.add_argument("--limit", type=int, default=50)
    events.add_argument("--json", action="store_true")
    templates = add("templates", cmd_templates, "list templates and where they load from, or --context SOURCE EVENT")
    templates.add_argument("--route", help="the lookup order of this route (default: the shared one)")
    templates.add_argument("--context", nargs=2, metavar=("SOURCE", "EVENT"), help="the variables templates of this event receive")
    render = add("render", cmd_render, "print the requests an event would cause, as JSON; sends nothing")
    render.add_argument("payload", nargs="?", help="the webhook body as a JSON file, or - for stdin")
    render.add_argument("--source", help="who sent it, e.g. github")
    render.add_argument("--event", help="the event name, e.g. pull_request")
    render.add_argument("--route", help="render with this route's targets and templates (default: the first route of the source)")
    render.add_argument("--event-id", help="render a stored, real delivery instead")
    replay = add("replay", cmd_replay, "queue an event or delivery again, or every failure with --failed")
    replay.add_argument("id", nargs="?", help="an event id, or a delivery id (<event id>.<target>)")
    replay.add_argument("--failed", action="store_true", help="every failed event and dead-lettered delivery")
    replay.add_argument("--since", help="with --failed: only those since 30m, 2h, 7d or an ISO time")
    devflow = add("devflow", cmd_devflow, "run devflow, a Flowdock-compatible development server")
    from bridge.devflow import cli

    cli.configure(devflow)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, dispatch, and turn configuration errors into one line and exit code 1."""
    args = build_parser().parse_args(argv)
    try:
        with demo.secret_if_unset(args.command in VERIFY_NO_SIGNATURE):
            code = args.handler(args)
            # Flush inside: a reader that left (`| head`) must be noticed here, not at interpreter exit.
            sys.stdout.flush()
            return code
    except (ConfigError, MissingRedis) as exc:
        print(f"hookdock: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return quiet_after_broken_pipe()


def quiet_after_broken_pipe() -> int:
    """The reader of stdout went away: drop what is still buffered and exit quietly, as Unix tools do."""
    # Python flushes stdout again at exit; pointing it at /dev/null keeps that from printing a traceback.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return BROKEN_PIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
