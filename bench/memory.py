"""Peak resident memory of process trees, sampled from a background thread while the runs go on."""

from __future__ import annotations

import threading

import psutil

INTERVAL = 0.2


class PeakRSS:
    """Track, per name (one process tree or several), the peak RSS of each process and of their sum."""

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
            trees: dict[str, list[int]] = {}
            for key, pid in roots.items():
                trees.setdefault(key.split("#")[0], []).append(pid)
            for name, pids in trees.items():
                self._sample(name, pids)

    def _sample(self, name: str, pids: list[int]) -> None:
        """One sample of every tree watched under name: a sum across them all (several solo workers are one worker)."""
        roots, children = [], []
        for pid in pids:
            try:
                root = psutil.Process(pid)
                descendants = root.children(recursive=True)
                roots.append(root.memory_info().rss)
            except psutil.Error:
                continue  # a process that just exited
            for child in descendants:
                try:
                    children.append(child.memory_info().rss)
                except psutil.Error:
                    pass  # a child that just exited
        if not roots:
            return
        peak = self.peaks[name]
        peak["root"] = max([peak["root"], *roots])
        peak["children"] = max([peak["children"], *children])
        peak["sum"] = max(peak["sum"], sum(roots) + sum(children))
        peak["processes"] = max(peak["processes"], len(roots) + len(children))
