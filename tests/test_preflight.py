"""Start-up checks of serve: the data-directory lock (released by the kernel) and free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from bridge.preflight import DataDirLock, Refused, check_ports, port_in_use
from tests.support import free_port, wait_until


def test_a_second_lock_on_the_same_data_dir_is_refused_naming_the_holder(tmp_path):
    first = DataDirLock(tmp_path / "data")
    first.acquire()
    try:
        with pytest.raises(Refused) as refused:
            DataDirLock(tmp_path / "data").acquire()
    finally:
        first.release()
    assert str(refused.value) == (
        f"another hookdock (pid {os.getpid()}) is running with its data in {tmp_path / 'data'}; "
        f"fix: stop it (Ctrl-C in its terminal, or kill {os.getpid()}) or pass --data-dir with another folder"
    )
    again = DataDirLock(tmp_path / "data")
    again.acquire()  # free again once released
    again.release()


def test_the_kernel_releases_the_lock_when_its_holder_is_killed(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from bridge.preflight import DataDirLock; DataDirLock({str(tmp_path)!r}).acquire(); print('held', flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(Refused, match=rf"another hookdock \(pid {holder.pid}\)"):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = DataDirLock(tmp_path)
    wait_until(lambda: _acquired(lock), timeout=5, what="the lock to be free after SIGKILL")
    assert (tmp_path / "hookdock.lock").read_text() == f"{os.getpid()}\n"
    lock.release()


def _acquired(lock: DataDirLock) -> bool:
    try:
        lock.acquire()
        return True
    except Refused:
        return False


def test_a_busy_port_is_seen_and_a_free_one_is_not():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        assert port_in_use("127.0.0.1", busy)
    assert not port_in_use("127.0.0.1", free_port())


def test_every_busy_port_is_named_with_the_option_that_moves_it():
    with socket.socket() as web, socket.socket() as chat:
        for sock in (web, chat):
            sock.bind(("127.0.0.1", 0))
            sock.listen()
        web_port, chat_port = web.getsockname()[1], chat.getsockname()[1]
        check_ports([("web", "127.0.0.1", free_port(), "--port")])  # a free one passes
        with pytest.raises(Refused) as refused:
            check_ports([("web", "127.0.0.1", web_port, "--port"), ("devflow", "127.0.0.1", chat_port, "--devflow-port")])
    assert str(refused.value) == (
        f"web port 127.0.0.1:{web_port} is already in use; devflow port 127.0.0.1:{chat_port} is already in use; "
        "fix: stop what listens there (another hookdock?) or pass --port N and --devflow-port N"
    )


def test_the_embedded_redis_keeps_the_data_dir_claimed_while_it_lives(tmp_path):
    """If serve itself is killed, its redis-server still holds the lock, so no second Redis joins its files."""
    from bridge.embedded import EmbeddedRedis

    lock = DataDirLock(tmp_path)
    server = EmbeddedRedis(tmp_path, port=free_port())
    server.start(inherit_fds=(lock.acquire(),))
    try:
        lock.release()  # as if serve had died: only redis-server holds it now
        with pytest.raises(Refused, match=r"another hookdock .*is running with its data in"):
            DataDirLock(tmp_path).acquire()
    finally:
        server.stop()
    after = DataDirLock(tmp_path)
    after.acquire()
    after.release()
