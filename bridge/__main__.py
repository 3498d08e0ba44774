"""The command line: python -m bridge {serve,check,deliveries,replay,devflow}."""
from __future__ import annotations

import argparse
import json
import os
import sys
from bridge import MissingRedis
from bridge.config import ConfigError, find_path, load_config
from bridge.embedded import DEFAULT_DATA_DIR


def cmd_check(args) -> int:
    """Validate the configuration and compile every template of every lookup order."""
    from bridge import renderers

    config = load_config(args.config)
    found = renderers(config)
    errors = sorted({line for renderer in found.values() for line in renderer.check()})
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        return 1
    names = {name for renderer in found.values() for name in renderer.env.list_templates()}
    print(f"{find_path(args.config)}: ok (routes: {len(config.routes)}, targets: {len(config.targets)}, templates: {len(names)})")
    return 0


def cmd_serve(args) -> int:
    """Run Redis (embedded unless REDIS_URL is set), the web, the worker and optionally devflow."""
    from bridge.supervisor import serve

    load_config(args.config)  # refuse to start children on a broken configuration
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
        print(f"{d.id}  {d.status:<9} {d.route}->{d.target}  HTTP {d.last_status or '-'}  "
              f"{len(d.attempts)} attempt(s)  {d.last_error[:80]}")
    return 0


def cmd_replay(args) -> int:
    """Queue an event, a delivery, or every failure again, rendered with today's templates."""
    from bridge import admin, create_app

    if bool(args.id) == bool(args.failed):
        print("hookdock: give an event or delivery id, or --failed [--since T]", file=sys.stderr)
        return 2
    app = create_app(load_config(args.config))
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    try:
        queued = [admin.replay(services, celery, args.id)["replayed"]] if args.id else \
            admin.replay_failed(services, celery, admin.parse_since(args.since))
    except (admin.NotFound, ValueError) as exc:
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
    parser = argparse.ArgumentParser(prog="python -m bridge", description="hookdock: webhooks to Flowdock")
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
    serve.add_argument("--concurrency", type=int, default=2, help="delivery worker processes")
    serve.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where the embedded Redis keeps its data")
    serve.add_argument("--with-devflow", action="store_true", help="also run devflow, the development chat server")
    serve.add_argument("--devflow-port", type=int, default=5050)
    deliveries = add("deliveries", cmd_deliveries, "list recent deliveries")
    deliveries.add_argument("--failed", action="store_true", help="only dead letters")
    deliveries.add_argument("--route")
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.add_argument("--json", action="store_true")
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
        return args.handler(args)
    except (ConfigError, MissingRedis) as exc:
        print(f"hookdock: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
