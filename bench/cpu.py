"""Who used the CPU during a load run: the server, its helpers, the bench, everyone else.

On 2 cores this is what tells the figures apart: a server at ~100% of one core is
CPU-bound (more connections cannot help); a bench near 100% would mean the generator is
the limit; CPU used by no party of the run means another job shared the machine, and
every figure of that run is perturbed.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from loadgen import RunResult


class HasPid(Protocol):
    pid: int


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU time of a whole process (every thread), from /proc/<pid>/stat;
    with `reaped_children`, plus that of its children that have exited and been waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every PostgreSQL server process (a read-only look at /proc), so the
    database's work on a PostgreSQL run is not taken for other load. Backends that exit
    during a run (the service's pool closes its overflow connections) are counted through
    the postmaster, which reaps them: its cutime/cstime."""
    out: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                out[int(entry.name)] = cpu_seconds(int(entry.name), reaped_children=True)
        except OSError:
            continue  # exited meanwhile
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


@dataclass
class Snapshot:
    at: float
    server: float
    helpers: float  # e.g. the Jira emulator process
    bench: float
    postgres: dict[int, float]
    machine: tuple[int, int]

    @classmethod
    def take(cls, server: HasPid, helpers: list[HasPid]) -> Snapshot:
        return cls(time.monotonic(), cpu_seconds(server.pid), sum(cpu_seconds(h.pid) for h in helpers),
                   time.process_time(), postgres_cpu(), machine_ticks())


def with_cpu(server: HasPid, helpers: list[HasPid], load: Callable[[], RunResult]) -> RunResult:
    """Run `load`; fill its `cpu` with each party's share over the run."""
    before = Snapshot.take(server, helpers)
    result = load()
    after = Snapshot.take(server, helpers)
    wall = after.at - before.at
    server_s = after.server - before.server
    bench_s = after.bench - before.bench
    # backends opened during the run count whole (they had used nothing before it)
    pg_s = sum(s - before.postgres.get(pid, 0.0) for pid, s in after.postgres.items())
    busy, total = (a - b for a, b in zip(after.machine, before.machine))
    machine_s = busy / max(1, total) * (os.cpu_count() or 1) * wall
    accounted = server_s + (after.helpers - before.helpers) + pg_s + bench_s
    result.cpu = {
        "server_ms_per_event": server_s * 1000.0 / max(1, result.sent),
        "server_core": server_s / wall,  # 1.0 = one core fully busy
        "bench_core": bench_s / wall,
        "postgres_core": pg_s / wall,  # every PostgreSQL process, whoever it served
        "machine_busy": busy / max(1, total),  # share of all cores, every process
        "other_core": max(0.0, machine_s - accounted) / wall,
    }
    return result
