"""Claims of dead workers come back in seconds; claims of live workers never do.

Workers are driven by hand here (register, beat, claim) so each rule is seen on its own:
the heartbeat renews a slow reconcile's lease, a restart on the same host frees its dead
predecessor's claims at once, a silent worker elsewhere loses them when the lease ends."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from jira_sync.store import claims
from jira_sync.store.tables import incidents
from jira_sync.sync.liveness import Liveness, process_alive, this_process


@pytest.fixture
async def engine(queued):  # type: ignore[no-untyped-def]
    return await queued("http://127.0.0.1:9")


def _worker(engine, lease: float, *, one_process: bool = False, host: str | None = None,  # type: ignore[no-untyped-def]
            pid: int | None = None, process: str | None = None) -> Liveness:
    w = Liveness(engine, lease, one_process=one_process)
    changes = {k: v for k, v in (("host", host), ("pid", pid), ("process", process)) if v is not None}
    w.me = dataclasses.replace(w.me, **changes)
    return w


def _dead_pid() -> tuple[int, str]:
    """The pid and identity of a process that has exited (as a killed `serve` has)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    ns = this_process()[2].split("/", 1)[0]
    return child.pid, f"{ns}/1"


async def _owner(engine) -> str | None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await conn.scalar(sa.select(incidents.c.lease_owner))


async def test_a_slow_reconcile_keeps_its_claim_while_its_worker_beats(engine) -> None:  # type: ignore[no-untyped-def]
    lease = 1.5
    slow, other = _worker(engine, lease, host="elsewhere"), _worker(engine, lease)
    await slow.start()
    await other.start()
    [row] = await claims.claim(engine, slow.owner, 10, lease)
    deadline = time.time() + 3 * lease  # three leases long, renewed every third of one
    while time.time() < deadline:
        await slow.beat({row.id})
        assert await claims.claim(engine, other.owner, 10, lease) == []
        await other.beat(set())  # the other worker's look-out: the slow one is alive
        time.sleep(lease / 3)
    assert await _owner(engine) == slow.owner
    # the slow worker's process dies on another host: nobody can tell, the lease runs out
    time.sleep(lease + 0.2)
    [taken] = await claims.claim(engine, other.owner, 10, lease)
    assert taken.id == row.id
    await other.beat({row.id})
    assert await slow.beat({row.id}) == 0 and await _owner(engine) == other.owner  # a late beat takes nothing back


async def test_a_restart_on_the_same_host_frees_the_dead_processes_claims_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    pid, identity = _dead_pid()
    dead = _worker(engine, 3600, pid=pid, process=identity)  # a lease that would outlast the test
    await dead.start()
    [row] = await claims.claim(engine, dead.owner, 10, 3600)
    successor = _worker(engine, 3600)
    await successor.start()
    [taken] = await claims.claim(engine, successor.owner, 10, 3600)
    assert taken.id == row.id


async def test_a_live_process_on_the_same_host_keeps_its_claims(engine) -> None:  # type: ignore[no-untyped-def]
    alive = _worker(engine, 3600)  # this very process, registered as another worker
    await alive.start()
    await claims.claim(engine, alive.owner, 10, 3600)
    await _worker(engine, 3600).start()
    assert await _owner(engine) == alive.owner


async def test_a_worker_elsewhere_keeps_its_claims_until_its_heartbeat_stops(engine, settings) -> None:  # type: ignore[no-untyped-def]
    if not settings.is_postgres:
        pytest.skip("PostgreSQL: workers on other hosts")
    far = _worker(engine, 1.0, host="other-host")
    await far.start()
    await claims.claim(engine, far.owner, 10, 3600)  # held by a claim far longer than its heartbeat
    here = _worker(engine, 1.0)
    await here.start()
    assert await _owner(engine) == far.owner
    time.sleep(1.2)  # no heartbeat for a whole lease: gone
    assert await here.beat(set()) == 1 and await _owner(engine) is None


async def test_on_sqlite_every_earlier_claim_is_stale_at_start(engine, settings) -> None:  # type: ignore[no-untyped-def]
    if settings.is_postgres:
        pytest.skip("SQLite: only `serve` runs a worker")
    await _worker(engine, 3600, host="the-container-before-this-one").start()
    await claims.claim(engine, "a worker from before workers registered", 10, 3600)
    await _worker(engine, 3600, one_process=True).start()
    assert await _owner(engine) is None


def test_a_reused_pid_is_not_mistaken_for_the_dead_process() -> None:
    host, pid, identity = this_process()
    assert process_alive(pid, identity)
    ns, started = identity.split("/", 1)
    if not started:
        pytest.skip("no /proc: start times unknown")
    assert not process_alive(pid, f"{ns}/{int(started) + 1}")  # same pid, another process
    assert not process_alive(_dead_pid()[0], None)


async def test_a_reconcile_that_ends_during_the_heartbeat_is_not_called_lost(engine, caplog) -> None:  # type: ignore[no-untyped-def]
    """Under load the heartbeat waits for the database while reconciles finish and release their
    claims: those are not lost claims. A claim another worker took is, and says so."""
    import logging

    lease = 5.0
    me, other = _worker(engine, lease), _worker(engine, lease, host="elsewhere")
    await me.start()
    await other.start()
    [row] = await claims.claim(engine, me.owner, 10, lease)

    class FinishesMeanwhile:  # the worker's live view of its reconciles: this one ends during the beat
        def __init__(self) -> None:
            self.reads = 0

        def __iter__(self):  # type: ignore[no-untyped-def]
            self.reads += 1
            return iter([row.id] if self.reads == 1 else [])

        def __len__(self) -> int:
            return 1

    async with engine.begin() as conn:  # its finish cleared the lease before the heartbeat's update
        await conn.execute(incidents.update().where(incidents.c.id == row.id).values(lease_owner=None))
    with caplog.at_level(logging.WARNING, logger="jira_sync.sync.liveness"):
        await me.beat(FinishesMeanwhile())
        assert not [r for r in caplog.records if "were lost" in r.getMessage()]
        async with engine.begin() as conn:  # now another worker holds it, and ours still runs
            await conn.execute(incidents.update().where(incidents.c.id == row.id).values(lease_owner=other.owner))
        await me.beat({row.id})
        assert [r.getMessage() for r in caplog.records if "were lost" in r.getMessage()] == [
            f"worker {me.owner}: 1 of 1 claims were lost (the heartbeat was late); those reconciles stop at their"
            " next write"]
