"""jira-sync benchmarks: webhook ingest, webhook -> Jira latency, Jira requests per change, memory.

    .venv/bin/python bench/run.py [--quick]

Prints figures measured side by side in one run, never pass/fail, and writes them to
bench/results/latest.md. Layout (2 cores): the service under test and the Jira emulator
each run in their own subprocess, the load generator in this process. See bench/README.md.
"""
from __future__ import annotations

import argparse
import gc
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import httpx
import loadgen
from cpu import with_cpu
from databases import Database, postgres_database, sqlite_database
from loadgen import RunResult, closed_loop, open_loop
from metrics_check import integration_of, metrics_check
from payloads import ingest_events, webhook_request
from procs import HOST, Proc, Procs, start_bare, start_fake_jira, start_service
from report import BARE, TargetResult, render
from service_api import ServiceApi, Webhook, WebhookClient, integration_config
from sync_probe import TimedJira, count_lifecycles, measure_write_latency

from jira_sync.crypto import generate_key
from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"
ADMIN_TOKEN = "bench-admin-token-0123456789"
DRAIN_TIMEOUT = 300.0  # seconds for the worker to catch up after a load run


@dataclass(frozen=True)
class Counts:
    warmup: int  # deliveries before anything is measured (connections, caches, pools)
    ingest: int  # (a) closed-loop deliveries
    concurrency: int  # (a) connections
    rate: float  # (b) events/s
    seconds: float  # (b) duration
    samples: int  # part 2: incidents sent one at a time
    lifecycles: int  # part 3


FULL = Counts(warmup=500, ingest=5000, concurrency=32, rate=200, seconds=10, samples=200, lifecycles=5)
QUICK = Counts(warmup=100, ingest=1000, concurrency=32, rate=200, seconds=3, samples=30, lifecycles=3)


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ load runs
def _requests(proc: Proc, hook: Webhook, payloads: list[dict]) -> list[bytes]:
    requests = [webhook_request(HOST, proc.port, hook.path, hook.headers, p) for p in payloads]
    # The payload dicts are garbage now; collect them, then freeze what is left so a
    # generational GC pass in this process cannot stall the generator mid-run.
    payloads.clear()
    gc.collect()
    gc.freeze()
    return requests


def closed_run(proc: Proc, helpers: list[Proc], hook: Webhook, fd: FakeFlashduty, count: int,
               concurrency: int) -> tuple[RunResult, int]:
    payloads, incidents = ingest_events(fd, count)
    requests = _requests(proc, hook, payloads)
    return with_cpu(proc, helpers, lambda: loadgen.run(closed_loop(HOST, proc.port, requests, concurrency))), incidents


def open_run(proc: Proc, helpers: list[Proc], hook: Webhook, fd: FakeFlashduty, rate: float,
             seconds: float) -> tuple[RunResult, int]:
    payloads, incidents = ingest_events(fd, int(rate * seconds))
    requests = _requests(proc, hook, payloads)
    return with_cpu(proc, helpers, lambda: loadgen.run(open_loop(HOST, proc.port, requests, rate))), incidents


def report_run(target: str, label: str, run: RunResult) -> None:
    say(f"  [{target}] {label}: {run.sent:,} events in {run.elapsed_s:.2f} s = {run.rate:,.0f} events/s; "
        f"server CPU {run.cpu['server_ms_per_event']:.2f} ms/event ({run.cpu['server_core']:.0%} of a core); "
        f"other load {run.cpu['other_core']:.0%} of a core; non-200 {run.non_200}")


def drain(api: ServiceApi) -> float:
    t0 = time.monotonic()
    api.wait_drained(DRAIN_TIMEOUT, poll=0.02)
    return time.monotonic() - t0


# ------------------------------------------------------------------ the bare app
def bench_bare(procs: Procs, counts: Counts) -> TargetResult:
    r = TargetResult(BARE)
    bare = start_bare(procs)
    try:
        hook = Webhook("/webhooks/flashduty/1", {"X-Jira-Sync-Secret": "not-checked"})
        fd = FakeFlashduty()
        closed_run(bare, [], hook, fd, counts.warmup, counts.concurrency)
        r.closed, _ = closed_run(bare, [], hook, fd, counts.ingest, counts.concurrency)
        report_run(r.name, "(a) closed loop", r.closed)
        r.open, _ = open_run(bare, [], hook, fd, counts.rate, counts.seconds)
        report_run(r.name, "(b) open loop", r.open)
        r.memory_kb = bare.memory_kb()
    finally:
        procs.stop(bare)
    return r


# ------------------------------------------------------------------ the service
def ingest_phase(procs: Procs, db: Database, key: str, counts: Counts, r: TargetResult) -> None:
    """Part 1 and 4: the service and the Jira emulator in their own processes."""
    tag = db.name.lower()
    jira = start_fake_jira(procs, f"fake-jira-{tag}")
    service = start_service(procs, f"service-{tag}", db.fresh(), key, ADMIN_TOKEN)
    api = ServiceApi(service.url, ADMIN_TOKEN)
    try:
        manual = api.create_integration(integration_config("bench-manual", jira.url, "manual"))
        auto = api.create_integration(integration_config("bench-automatic", jira.url, "automatic"))
        fd = FakeFlashduty()
        # warm-up: connections, the trigger cache, the worker's Jira client and workflow memory
        closed_run(service, [jira], manual, fd, counts.warmup, counts.concurrency)
        _, synced = closed_run(service, [jira], auto, fd, max(20, counts.warmup // 5), counts.concurrency)
        drain(api)

        r.closed, _ = closed_run(service, [jira], manual, fd, counts.ingest, counts.concurrency)
        report_run(db.name, "(a) closed loop, manual mode", r.closed)
        r.closed_auto, n = closed_run(service, [jira], auto, fd, counts.ingest, counts.concurrency)
        synced += n
        report_run(db.name, "(a) closed loop, automatic mode", r.closed_auto)
        r.drain_auto_s = drain(api)
        say(f"  [{db.name}] sync backlog drained in {r.drain_auto_s:.1f} s")

        r.open, n = open_run(service, [jira], auto, fd, counts.rate, counts.seconds)
        synced += n
        report_run(db.name, f"(b) open loop at {counts.rate:.0f}/s", r.open)
        r.drain_open_s = drain(api)

        r.queue_after = {k: v for k, v in api.queue().items() if k in ("waiting", "in_flight", "failed", "linked")}
        r.issues_check = issues_check(jira.url, synced)
        say(f"  [{db.name}] Jira: {r.issues_check}; queue {r.queue_after}")
        sent = {integration_of(manual): counts.warmup + counts.ingest,
                integration_of(auto): max(20, counts.warmup // 5) + counts.ingest + int(counts.rate * counts.seconds)}
        say(f"  [{db.name}] {metrics_check(api, sent, synced)}")
        r.memory_kb = service.memory_kb()
    finally:
        api.close()
        procs.stop(service)
        procs.stop(jira)


def issues_check(jira_url: str, expected: int) -> str:
    """Keys are handed out in order, so exactly `expected` issues means OPS-<expected>
    exists and OPS-<expected+1> does not: no incident lost, none created twice."""
    with httpx.Client(base_url=jira_url, auth=("admin@example.com", "cloud-token"), timeout=10) as c:
        last = c.get(f"/rest/api/3/issue/OPS-{expected}", params={"fields": "summary"}).status_code
        after = c.get(f"/rest/api/3/issue/OPS-{expected + 1}", params={"fields": "summary"}).status_code
    if last == 200 and after == 404:
        return f"exactly {expected:,} issues for {expected:,} synced incidents"
    return f"MISMATCH for {expected:,} synced incidents: OPS-{expected} -> {last}, OPS-{expected + 1} -> {after}"


def sync_phase(procs: Procs, db: Database, key: str, counts: Counts, r: TargetResult) -> None:
    """Parts 2 and 3: a fresh service, the emulators in threads of this process."""
    service = start_service(procs, f"service-{db.name.lower()}-sync", db.fresh(), key, ADMIN_TOKEN)
    api = ServiceApi(service.url, ADMIN_TOKEN)
    jira = TimedJira()
    fd = FakeFlashduty()
    fd_server = FakeFlashdutyServer(fd)
    client: WebhookClient | None = None
    try:
        jira.start()
        fd_url = fd_server.start()
        hook = api.create_integration(
            integration_config("bench-sync", jira.url, "automatic", (fd_url, fd.app_key)))
        client = WebhookClient(service.url, hook)
        # lifecycles first: the first one is the first this integration ever syncs
        r.lifecycles = count_lifecycles(api, client, jira, fd, counts.lifecycles)
        say(f"  [{db.name}] Jira requests per step, first lifecycle vs last: "
            f"{[len(v) for v in r.lifecycles[0].jira.values()]} vs {[len(v) for v in r.lifecycles[-1].jira.values()]}")
        r.latency = measure_write_latency(api, client, jira, fd, counts.samples)
        say(f"  [{db.name}] webhook -> Jira write measured on {counts.samples} incidents")
    finally:
        if client is not None:
            client.close()
        api.close()
        procs.stop(service)  # before its Jira goes away, so it does not log retries
        fd_server.stop()
        jira.stop()


def bench_service(procs: Procs, db: Database, key: str, counts: Counts, r: TargetResult) -> None:
    """Fills `r` as it goes, so the figures measured before an error are still reported."""
    say(f"{db.name}: ingest")
    ingest_phase(procs, db, key, counts, r)
    say(f"{db.name}: webhook -> Jira, requests per change")
    sync_phase(procs, db, key, counts, r)


# ------------------------------------------------------------------ the run
def interrupt_on_signals() -> None:
    """SIGINT and SIGTERM both end the run through KeyboardInterrupt, so `finally` stops the
    subprocesses. SIGINT is set explicitly: a shell starting the bench in the background
    hands it over ignored."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run in under a minute")
    parser.add_argument("--storm", action="store_true",
                        help="issue 10's load instead: wrk, ~1.4 KB bodies, mostly new incidents (storm.py)")
    parser.add_argument("--jira-latency-ms", type=float, default=0.0,
                        help="with --storm: the Jira emulator answers after this long, as a Jira across a network")
    args = parser.parse_args()
    if args.storm:
        import storm

        interrupt_on_signals()
        return storm.main(args.quick, args.jira_latency_ms)
    counts = QUICK if args.quick else FULL
    interrupt_on_signals()

    workdir = Path(tempfile.mkdtemp(prefix="jira-sync-bench-"))
    procs = Procs(workdir)
    key = generate_key()
    results: list[TargetResult] = []
    failed = False
    t0 = time.monotonic()
    try:
        say("bare FastAPI")
        results.append(bench_bare(procs, counts))
        pg, pg_info = postgres_database()
        if pg is None:
            say(pg_info + " — skipping the PostgreSQL rows")
        for db in [sqlite_database(workdir), pg]:
            if db is None:
                results.append(TargetResult("PostgreSQL", skipped=pg_info))
                continue
            r = TargetResult(db.name)
            results.append(r)
            try:
                bench_service(procs, db, key, counts, r)
            except Exception as exc:  # report it, keep the other targets' figures
                failed = True
                traceback.print_exc()
                r.error = f"{type(exc).__name__}: {exc}"
                procs.stop_all()
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the subprocesses")
        return 130
    finally:
        procs.stop_all()
        if failed or any(r.non_200 for r in results):  # the processes' logs say why
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    text = render(results, counts, args.quick, pg_info if pg is not None else None)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    say(f"\n{text}")
    say(f"(written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}; "
        f"run took {time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
