"""What `serve` checks before it starts or removes anything: one hookdock per data directory, free ports."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path

LOCK_NAME = "hookdock.lock"


class Refused(Exception):
    """Start-up would harm a running hookdock or cannot work; the message says why and what to do."""


class DataDirLock:
    """An exclusive flock on <data dir>/hookdock.lock: the kernel releases it when every holder has exited."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir).resolve()
        self.path = self.data_dir / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> int:
        """Take the lock and write our pid into it, or raise Refused naming the holder; return the fd."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _live_pid(os.pread(fd, 32, 0))
            os.close(fd)
            raise Refused(self._held_by(holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return fd

    def _held_by(self, holder: int | None) -> str:
        """The refusal: who holds the data directory, and the two ways forward."""
        if holder:
            return (
                f"another hookdock (pid {holder}) is running with its data in {self.data_dir}; "
                f"fix: stop it (Ctrl-C in its terminal, or kill {holder}) or pass --data-dir with another folder"
            )
        return (
            f"another hookdock is running with its data in {self.data_dir} (a process, perhaps its redis-server, still holds {self.path}; fuser -v {self.path} names it); "
            "fix: stop it or pass --data-dir with another folder"
        )

    def release(self) -> None:
        """Let go of the lock (children that inherited it keep it until they exit)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _live_pid(text: bytes) -> int | None:
    """The pid written in the lock file, if that process still exists."""
    try:
        pid = int(text.decode().strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return None
    except PermissionError:
        pass  # it exists, under another user
    return pid


def port_in_use(host: str, port: int) -> bool:
    """True when binding host:port fails as a server's bind would (SO_REUSEADDR, as gunicorn and werkzeug set)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise Refused(f"cannot listen on {host}:{port} ({exc.strerror}); fix: pass a --host this machine has") from None
    return False


def check_ports(wanted: list[tuple[str, str, int, str]]) -> None:
    """Refuse when any (what, host, port, option) is taken, naming every one and the option that moves it."""
    taken = [(what, host, port, option) for what, host, port, option in wanted if port and port_in_use(host, port)]
    if taken:
        where = "; ".join(f"{what} port {host}:{port} is already in use" for what, host, port, _ in taken)
        moves = " and ".join(f"{option} N" for *_, option in taken)
        raise Refused(f"{where}; fix: stop what listens there (another hookdock?) or pass {moves}")
