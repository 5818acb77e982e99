"""Crash recovery in seconds: worker heartbeats and claims freed as soon as their owner is dead.

A claim's lease is short (LEASE_SECONDS, 15 s by default) and the heartbeat renews the
leases of every reconcile in flight every third of it, so a slow reconcile keeps its
incident while a dead worker's incidents are free within one lease. Faster still: each
worker registers its host, pid and process identity, and at start and at every heartbeat
it looks at the other registered workers. One on the same host (same pid namespace) whose
process is gone, such as the previous `serve` killed with -9, has its claims freed at once.
On SQLite there is only ever one worker (`serve`), so any other worker's claims are stale.

Nothing here weakens the fence in `store/claims.py`: every write after a claim checks that
the lease is still ours, so a worker that lost its claim never overwrites the next one.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Collection

from ..store import workers as store
from ..store.db import Engine
from ..store.workers import WorkerRow

log = logging.getLogger(__name__)


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: "" where /proc cannot say (not
    Linux), None when /proc says there is no such process."""
    if not os.path.isdir("/proc/self"):
        return ""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = stat.rsplit(b")", 1)[-1].split()
    return fields[19].decode() if len(fields) > 19 else ""


def this_process() -> tuple[str, int, str]:
    """(host, pid, process identity) of the running process."""
    pid = os.getpid()
    return socket.gethostname(), pid, f"{_pid_namespace()}/{_start_time(pid) or ''}"


def process_alive(pid: int, identity: str | None) -> bool:
    """Is the process registered as (pid, identity) still running? On this host and pid
    namespace only. A pid reused by another process (its start time differs) counts as gone."""
    started = _start_time(pid)
    if started is None:
        return False
    known = (identity or "/").split("/", 1)[1]
    if started and known:
        return known == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return True


class Liveness:
    """One worker's registration, heartbeat and look-out for dead peers."""

    def __init__(self, engine: Engine, lease_seconds: float, *, one_process: bool) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.one_process = one_process  # SQLite: this is the only worker there can be
        host, pid, identity = this_process()
        self.namespace = identity.split("/", 1)[0]
        now = time.time()
        self.me = WorkerRow(f"{host[:40]}:{pid}:{uuid.uuid4().hex[:8]}", host[:255], pid, identity, now, now)

    @property
    def owner(self) -> str:
        return self.me.id

    @property
    def every(self) -> float:
        """Seconds between heartbeats: three chances to renew before a lease ends."""
        return self.lease_seconds / 3

    async def start(self) -> None:
        """Register, then free what dead predecessors held, before the first claim."""
        await store.register(self.engine, self.me)
        await self.sweep()
        if self.one_process:
            freed = await store.release_unregistered(self.engine)
            if freed:
                log.warning("freed %d claims of an earlier process (SQLite: only this one runs)", freed)

    async def beat(self, in_flight: Collection[int]) -> int:
        """Renew our claims, then free a dead worker's: returns how many were freed.
        `in_flight` may be a live view: a reconcile that finished while the heartbeat waited for
        the database released its claim itself, and is not counted as lost."""
        now = time.time()
        asked = set(in_flight)
        renewed = await store.heartbeat(self.engine, self.me, now, now + self.lease_seconds, asked)
        lost = (asked & set(in_flight)) - renewed
        if lost:
            log.warning("worker %s: %d of %d claims were lost (the heartbeat was late); those "
                        "reconciles stop at their next write", self.owner, len(lost), len(asked))
        return await self.sweep()

    async def sweep(self) -> int:
        """Free the claims of every worker known to be dead; returns how many were freed."""
        dead = self.dead(await store.all_workers(self.engine), time.time())
        if not dead:
            return 0
        freed = await store.release(self.engine, [w.id for w in dead])
        for w in dead:
            log.warning("worker %s (host %s, pid %s) is gone; its claims are free again", w.id, w.host, w.pid)
        if freed:
            log.warning("%d incidents claimed by dead workers are free to sync again", freed)
        return freed

    def dead(self, rows: list[WorkerRow], now: float) -> list[WorkerRow]:
        found = []
        for w in rows:
            if w.id == self.owner:
                continue
            here = w.host == self.me.host and (w.process or "/").split("/", 1)[0] == self.namespace
            if here and not process_alive(w.pid, w.process):
                found.append(w)  # the same machine says its process is gone
            elif self.one_process and not here:
                found.append(w)  # SQLite: no other worker can be running
            elif w.heartbeat_at + self.lease_seconds < now:
                found.append(w)  # silent for a whole lease: its leases have run out anyway
        return found

    async def stop(self) -> None:
        """A clean stop: what is still claimed (cancelled reconciles) is free at once."""
        await store.release(self.engine, [self.owner])
