"""Command line and serving helpers of devflow: options, the foreground server, a background server."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .chats import public_path
from .server import create_devflow_app
from .state import DevflowState

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class QuietPathHandler(WSGIRequestHandler):
    """Log method, path and status only: a query string may hold a flow_token, a webhook's path its token."""

    def log_request(self, code="-", size="-") -> None:
        path = public_path(getattr(self, "path", "").split("?", 1)[0])
        self.log("info", '"%s %s" %s %s', getattr(self, "command", "-"), path, code, size)


def parse_user(value: str) -> tuple[str, int, str]:
    """Parse TOKEN:ID:NICK (the token itself may hold colons)."""
    token, _, rest = value.rpartition(":")
    token, _, user_id = token.rpartition(":")
    if not token or not user_id.isdigit() or not rest:
        raise argparse.ArgumentTypeError("expected TOKEN:ID:NICK with a numeric ID")  # never echo the token
    return token, int(user_id), rest


def parse_flow(value: str) -> tuple[str, str, str | None]:
    """Parse ORG/FLOW[:FLOW_TOKEN] with parameterized (lower case, dashes) names."""
    names, _, token = value.partition(":")
    org, _, flow = names.partition("/")
    if not (NAME.match(org) and NAME.match(flow)):
        raise argparse.ArgumentTypeError(f"expected ORG/FLOW[:FLOW_TOKEN] with lower-case names, got {names!r}")
    return org, flow, token or None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add devflow's options to a parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5050, help="port to listen on; 0 picks a free one (default 5050)")
    parser.add_argument(
        "--user", action="append", type=parse_user, metavar="TOKEN:ID:NICK", help="a user (repeatable); replaces the default user dev/devflow-token"
    )
    parser.add_argument(
        "--flow", action="append", type=parse_flow, metavar="ORG/FLOW[:FLOW_TOKEN]", help="a flow every user joins (repeatable); replaces the default acme/main"
    )


def build_state(args: argparse.Namespace) -> DevflowState:
    """Return the state the options describe, defaults where an option is absent."""
    if not getattr(args, "user", None) and not getattr(args, "flow", None):
        return DevflowState.with_defaults()
    defaults = DevflowState.with_defaults()
    state = DevflowState()
    if args.user:
        for token, user_id, nick in args.user:
            state.add_user(token, user_id, nick)
    else:
        state.users.extend(defaults.users)
    if args.flow:
        for org, flow, token in args.flow:
            state.add_flow(org, flow, flow_token=token)
    else:
        default = defaults.flows[0]
        state.add_flow(default.org, default.name, flow_token=default.flow_token, display_name=default.display_name)
    return state


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class BackgroundServer:
    """devflow serving from a daemon thread; for tests and for embedding in other processes."""

    def __init__(self, state: DevflowState | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = state if state is not None else DevflowState.with_defaults()
        self.server: BaseWSGIServer = make_server(host, port, create_devflow_app(self.state), threaded=True, request_handler=QuietPathHandler)
        self.port = self.server.server_port
        self.url = _url(host, self.port)
        # A short poll interval keeps shutdown quick (the default 0.5 s adds up across tests).
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="devflow", daemon=True)

    def start(self) -> BackgroundServer:
        """Start serving; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print the listening URL first; return 0."""
    server = BackgroundServer(build_state(args), args.host, args.port)
    stop = threading.Event()
    # Signals reach only the main thread; elsewhere the embedding process owns shutdown.
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
    try:
        server.start()
        print(f"devflow listening on {server.url}", flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("devflow stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bridge.devflow``."""
    parser = argparse.ArgumentParser(prog="python -m bridge.devflow", description=__doc__)
    configure(parser)
    return run(parser.parse_args(argv))
