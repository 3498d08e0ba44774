"""Peak resident memory of process trees, sampled from a background thread while the runs go on."""

from __future__ import annotations

import threading

import psutil

INTERVAL = 0.2


class PeakRSS:
    """Track, per named process tree, the peak RSS of each process and of the tree's sum."""

    def __init__(self):
        self.roots: dict[str, int] = {}
        self.peaks: dict[str, dict] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        """Sample pid and its descendants under name (a later watch of the same name adds to it)."""
        with self._lock:
            self.roots[f"{name}#{pid}"] = pid
            self.peaks.setdefault(name, {"sum": 0, "root": 0, "children": 0, "processes": 0})

    def forget(self, name: str) -> None:
        """Stop sampling a tree (its process is about to stop); its peaks stay."""
        with self._lock:
            self.roots = {k: v for k, v in self.roots.items() if not k.startswith(f"{name}#")}

    def start(self) -> PeakRSS:
        self._thread.start()
        return self

    def stop(self) -> dict:
        """Stop sampling; return {name: {"sum", "root", "children", "processes"}} in bytes."""
        self._stop.set()
        self._thread.join(5)
        return self.peaks

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            with self._lock:
                roots = dict(self.roots)
            for key, pid in roots.items():
                self._sample(key.split("#")[0], pid)

    def _sample(self, name: str, pid: int) -> None:
        try:
            root = psutil.Process(pid)
            children = root.children(recursive=True)
            root_rss = root.memory_info().rss
        except psutil.Error:
            return
        child_rss = []
        for child in children:
            try:
                child_rss.append(child.memory_info().rss)
            except psutil.Error:
                pass  # a child that just exited
        peak = self.peaks[name]
        peak["root"] = max(peak["root"], root_rss)
        peak["children"] = max([peak["children"], *child_rss])
        peak["sum"] = max(peak["sum"], root_rss + sum(child_rss))
        peak["processes"] = max(peak["processes"], 1 + len(child_rss))
