"""prometheus-client's multiprocess mode, for `serve` plus separate `jira-sync worker` processes.

Every process writes its counters and histograms to mmap files in one directory
(PROMETHEUS_MULTIPROC_DIR), and the process that answers `/metrics` adds them up. The
library picks its value class when it is first imported, so `prepare` runs before anything
imports prometheus_client (the CLI calls it first thing for `serve` and `worker`).

Cleaning at start: each process removes the files of processes that are no longer running
(and any file left by an earlier process with its own pid), never a live process's, so
`serve` and workers may start in any order or at the same moment. Counters of a process
that ended are dropped with its files at the next start, which Prometheus reads as a
counter reset (what a restart of a single process looks like too).
"""
from __future__ import annotations

import glob
import os
import sys

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(path: str) -> None:
    if "prometheus_client.values" in sys.modules and os.environ.get(ENV) != path:
        raise RuntimeError("prometheus_client was imported before the metrics directory was set")
    os.makedirs(path, exist_ok=True)
    os.environ[ENV] = path
    clean(path)


def clean(path: str) -> None:
    """Remove the files of processes that are gone, and any left by an earlier process with our pid."""
    for file in glob.glob(os.path.join(path, "*_*.db")):
        pid = file.rsplit("_", 1)[-1].removesuffix(".db")
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            try:
                os.remove(file)
            except FileNotFoundError:  # another process starting cleaned it first
                pass


def directory() -> str | None:
    """The directory in use, when this process runs in multiprocess mode."""
    return os.environ.get(ENV) or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
