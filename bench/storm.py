"""The storm: issue 10's load, side by side in one run (`bench/run.py --storm`).

    .venv/bin/python bench/run.py --storm [--quick]

wrk (`apt-get install wrk`), 32 connections, Flashduty's documented example body filled out
to its documented fields (~1.4 KB, `storm.lua`), a unique event_id per request and a new
incident for 3 requests in 4 (the 4th acknowledges one of them). Against:

- the bare FastAPI endpoint (`bare_app.py`: read the body, parse the JSON, answer);
- the service on SQLite (`serve`);
- the service on PostgreSQL, `serve` + 2 `jira-sync worker` processes.

For each: the closed loop (wrk, integration in manual mode), then paced at RATE events/s
(this process's open-loop generator, `loadgen.py`, same bodies) in manual mode and in
automatic mode (the workers syncing to the Jira emulator meanwhile); then the queue drains
and Jira must hold exactly one issue per incident. Jira requests per change come from
run.py's lifecycle probe (new → severity → ack → comment → resolve, one change at a time);
peak RSS is VmHWM of every process of the service. The machine load (`uptime`) is printed
before and after: other jobs on the machine make every figure noisy, the ratios less so.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import loadgen
from cpu import with_cpu
from databases import Database, postgres_database, sqlite_database
from loadgen import RunResult, open_loop
from procs import HOST, Proc, Procs, child_env, start_bare, start_fake_jira, start_service
from service_api import ServiceApi, Webhook, integration_config
from stats import percentile

BENCH_DIR = Path(__file__).resolve().parent
LUA = BENCH_DIR / "storm.lua"
RESULTS = BENCH_DIR / "results" / "storm.md"
ADMIN_TOKEN = "bench-admin-token-0123456789"
CONNECTIONS = 32
RATE = 300.0
BARE = "bare FastAPI"
PG_DB = "jira_sync_storm"  # not run.py's jira_sync_bench: both may run at once on a shared machine


@dataclass(frozen=True)
class Plan:
    warmup_s: int
    closed_s: int
    paced_s: float
    lifecycles: int


FULL = Plan(warmup_s=3, closed_s=10, paced_s=10, lifecycles=20)
QUICK = Plan(warmup_s=1, closed_s=3, paced_s=3, lifecycles=2)


@dataclass
class Target:
    name: str
    closed_rate: float | None = None
    closed_errors: int = 0
    closed_p99_ms: float | None = None
    server_core: float | None = None  # the service's share of a core in the closed loop
    cpu_us: float | None = None  # the service's CPU per request in the closed loop (µs)
    paced: RunResult | None = None
    paced_auto: RunResult | None = None
    drain_s: float | None = None
    issues: str = ""
    jira_per_change: str = ""
    rss_mb: list[float] = field(default_factory=list)
    error: str = ""


def say(msg: str) -> None:
    print(msg, flush=True)


def uptime() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ------------------------------------------------------------------ the load
def _template() -> str:
    """The body template of storm.lua, so both generators send the same bytes."""
    text = LUA.read_text()
    return re.search(r"local template = \[\[(.*?)\]\]", text, re.S).group(1)  # type: ignore[union-attr]


class Bodies:
    """storm.lua's sequence in Python, for the paced runs: unique ids per run tag."""

    def __init__(self) -> None:
        self.template = _template()
        self.n = 0
        self.new_incidents = 0

    def requests(self, proc: Proc, hook: Webhook, count: int, tag: str) -> list[bytes]:
        out = []
        for _ in range(count):
            self.n += 1
            n = self.n
            event_id = f"{tag}99{n:010d}e"
            if n % 4 == 0:
                iid = f"{tag}99{n - 2:010d}"
                body = self.template % (event_id, 1689335096948 + n, "i_ack", 1689335096, iid, iid, "Processing")
            else:
                iid = f"{tag}99{n:010d}"
                self.new_incidents += 1
                body = self.template % (event_id, 1689335086948 + n, "i_new", 0, iid, iid, "Triggered")
            data = body.encode()
            head = (f"POST {hook.path} HTTP/1.1\r\nHost: {HOST}:{proc.port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hook.headers.items()))
            out.append((head + "\r\n").encode() + data)
        return out


_tags = iter(f"{i:04d}" for i in range(1, 10_000))


def wrk(proc: Proc, hook: Webhook, seconds: int) -> dict:
    """One closed-loop wrk run; its STORM line (requests, duration, latency in µs, errors)."""
    secret = next(iter(hook.headers.values()))
    argv = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(LUA), proc.url,
            "--", hook.path, secret, "s" + next(_tags)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("STORM ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout}\n{out.stderr}")
    res = json.loads(line[6:])
    res["rate"] = res["requests"] / (res["duration_us"] / 1e6)
    res["errors"] = sum(res[k] for k in ("status", "connect", "read", "write", "timeout"))
    return res


def closed(target: Target, proc: Proc, helpers: list[Proc], hook: Webhook, plan: Plan) -> None:
    wrk(proc, hook, plan.warmup_s)
    holder: dict = {}

    def load() -> RunResult:
        holder.update(wrk(proc, hook, plan.closed_s))
        r = RunResult(sent=holder["requests"])
        r.elapsed_s = holder["duration_us"] / 1e6
        return r

    run = with_cpu(proc, helpers, load)
    target.closed_rate, target.closed_errors = holder["rate"], holder["errors"]
    target.closed_p99_ms = holder["p99_us"] / 1000
    target.server_core = run.cpu["server_core"]
    target.cpu_us = run.cpu["server_ms_per_event"] * 1000
    say(f"  [{target.name}] closed loop: {holder['rate']:,.0f} req/s, p50/p99 {holder['p50_us'] / 1000:.1f}/"
        f"{holder['p99_us'] / 1000:.1f} ms, errors {holder['errors']}; server {run.cpu['server_core']:.0%} of a core,"
        f" other load {run.cpu['other_core']:.0%}")


def paced(target: Target, proc: Proc, hook: Webhook, bodies: Bodies, plan: Plan, label: str) -> RunResult:
    requests = bodies.requests(proc, hook, int(RATE * plan.paced_s), "p" + next(_tags))
    run = loadgen.run(open_loop(HOST, proc.port, requests, RATE))
    say(f"  [{target.name}] paced {RATE:.0f}/s, {label}: p50/p99/max {percentile(run.latencies_ms, 50):.1f}/"
        f"{percentile(run.latencies_ms, 99):.1f}/{max(run.latencies_ms):.1f} ms; non-200 {run.non_200}")
    say(f"  [{target.name}] slowest quarter-seconds (sent at s: slowest answer ms): {slow_windows(run)}")
    return run


def slow_windows(run: RunResult, width_s: float = 0.25, most: int = 6) -> str:
    """The quarter-seconds whose slowest answer was slowest, in time order. A tail made of a
    few bursts at a steady period points at something periodic (a cache expiry, a collector,
    a checkpoint); one spread evenly, at load. (Found this way: every delivery re-read an
    expired integration row at once, every 2 s; see the README's "Speed".)"""
    if not run.sent_at:
        return "-"
    start = min(run.sent_at)
    worst: dict[int, float] = {}
    for sent, ms in zip(run.sent_at, run.latencies_ms):
        k = int((sent - start) / width_s)
        worst[k] = max(worst.get(k, 0.0), ms)
    top = sorted(sorted(worst, key=worst.__getitem__, reverse=True)[:most])
    return ", ".join(f"{k * width_s:.2f}: {worst[k]:.0f}" for k in top)


# ------------------------------------------------------------------ targets
def bench_bare(procs: Procs, plan: Plan) -> Target:
    t = Target(BARE)
    bare = start_bare(procs)
    try:
        hook = Webhook("/webhooks/flashduty/1", {"X-Jira-Sync-Secret": "not-checked"})
        closed(t, bare, [], hook, plan)
        t.paced = paced(t, bare, hook, Bodies(), plan, "")
        t.rss_mb = [bare.memory_kb()["VmHWM"] / 1024]
    finally:
        procs.stop(bare)
    return t


def start_worker(procs: Procs, name: str, database_url: str, key: str) -> Proc:
    env = child_env({"JIRA_SYNC_DATABASE_URL": database_url, "JIRA_SYNC_SECRET_KEY": key,
                     "JIRA_SYNC_ADMIN_TOKEN": ADMIN_TOKEN})
    return procs.start(name, [sys.executable, "-m", "jira_sync", "worker"], env, 0, None)


def bench_service(procs: Procs, db: Database, key: str, plan: Plan, workers: int, jira_latency_ms: float = 0.0) -> Target:
    t = Target(db.name + (f", serve + {workers} workers" if workers else ""))
    tag = db.name.lower()
    jira = start_fake_jira(procs, f"storm-jira-{tag}", jira_latency_ms)
    url = db.fresh()
    # with workers of its own, serve only takes webhooks: its loop never waits behind a sync
    service = start_service(procs, f"storm-service-{tag}", url, key, ADMIN_TOKEN, *(["--no-worker"] if workers else []))
    extra = [start_worker(procs, f"storm-worker-{tag}-{i}", url, key) for i in range(workers)]
    api = ServiceApi(service.url, ADMIN_TOKEN)
    try:
        manual = api.create_integration(integration_config("storm-manual", jira.url, "manual"))
        auto = api.create_integration(integration_config("storm-automatic", jira.url, "automatic"))
        closed(t, service, [jira, *extra], manual, plan)
        bodies = Bodies()
        t.paced = paced(t, service, manual, bodies, plan, "manual")
        # a few automatic deliveries first: the worker's Jira client, pools and workflow memory
        loadgen.run(open_loop(HOST, service.port, bodies.requests(service, auto, 40, "w" + next(_tags)), 100))
        api.wait_drained(300, poll=0.05)
        before, opened_before = api.queue()["linked"], bodies.new_incidents
        t.paced_auto = paced(t, service, auto, bodies, plan, "automatic")
        t0 = time.monotonic()
        api.wait_drained(600, poll=0.05)
        t.drain_s = time.monotonic() - t0
        opened = bodies.new_incidents - opened_before
        linked = api.queue()["linked"] - before
        t.issues = f"{linked:,} linked for {opened:,} new incidents, failed {api.queue()['failed']}"
        say(f"  [{t.name}] drained in {t.drain_s:.1f} s; {t.issues}")
        t.rss_mb = [p.memory_kb()["VmHWM"] / 1024 for p in (service, *extra)]
    finally:
        api.close()
        for p in (*extra, service, jira):
            procs.stop(p)
    return t


def jira_per_change(procs: Procs, db: Database, key: str, plan: Plan) -> str:
    """run.py's lifecycle probe: Jira requests per change over whole lifecycles."""
    from run import FULL as RUN_FULL  # noqa: F401  (run.py's module is on the path: bench/)
    from run import sync_phase
    from report import TargetResult

    r = TargetResult(db.name)
    counts = type("C", (), {"lifecycles": plan.lifecycles, "samples": 5})()
    sync_phase(procs, db, key, counts, r)
    lives = r.lifecycles
    # the first lifecycle after a start learns the workflow (kept per integration in each process)
    overall, first, then = _per_change(lives), _per_change(lives[:1]), _per_change(lives[1:] or lives)
    return f"{overall:.2f} over {len(r.lifecycles)}: first {first:.1f}, then {then:.2f}"


def _per_change(lives: list) -> float:  # type: ignore[type-arg]
    """Jira requests per change over these lifecycles (sync_probe.Lifecycle)."""
    return sum(len(v) for life in lives for v in life.jira.values()) / sum(len(life.jira) for life in lives)


# ------------------------------------------------------------------ the report
def render(targets: list[Target], plan: Plan, load_before: str, load_after: str, jira_latency_ms: float = 0.0) -> str:
    bare = targets[0].closed_rate if targets and targets[0].name == BARE else None

    def cell(fn) -> str:  # type: ignore[no-untyped-def]
        out = []
        for t in targets:
            try:
                out.append(fn(t))
            except Exception:
                out.append("–")
        return " | ".join(out)

    def ms(run: RunResult | None) -> str:
        if run is None:
            raise ValueError
        return f"{percentile(run.latencies_ms, 50):.1f} / {percentile(run.latencies_ms, 99):.1f}"

    def closed_cell(t: Target) -> str:
        if t.closed_rate is None:
            raise ValueError
        ratio = f" ({t.closed_rate / bare:.2f}×)" if bare and t.name != BARE else ""
        return f"{t.closed_rate:,.0f}{ratio}"

    bare_cpu = targets[0].cpu_us if targets and targets[0].name == BARE else None

    def cpu_cell(t: Target) -> str:
        if t.cpu_us is None:
            raise ValueError
        ratio = f" ({bare_cpu / t.cpu_us:.2f}×)" if bare_cpu and t.name != BARE else ""
        return f"{t.cpu_us:,.0f}{ratio}"

    rows = [
        (f"closed loop, wrk {CONNECTIONS} connections, req/s (ratio to bare)", closed_cell, "≥ 0.6×"),
        ("… p99 in the closed loop (ms)", lambda t: f"{t.closed_p99_ms:.1f}", ""),
        ("… service's share of a core", lambda t: f"{t.server_core:.0%}", ""),
        ("… service's CPU per request, µs (ratio bare / service: less noisy than req/s)", cpu_cell, ""),
        (f"paced {RATE:.0f}/s, manual mode, p50 / p99 (ms)", lambda t: ms(t.paced), ""),
        (f"paced {RATE:.0f}/s, automatic mode (syncing to the Jira emulator), p50 / p99 (ms)",
         lambda t: ms(t.paced_auto), "p99 ≤ 20"),
        ("after the automatic run: drained in (s); issues", lambda t: f"{t.drain_s:.1f}; {t.issues}", ""),
        ("Jira requests per change, lifecycles new/severity/ack/comment/resolve (the first one after a start"
         " learns the workflow)",
         lambda t: t.jira_per_change or "–", "≤ 1.05"),
        ("peak RSS (MB), per process", lambda t: " + ".join(f"{m:.0f}" for m in t.rss_mb), "≤ 150"),
        ("non-200 answers", lambda t: str(t.closed_errors + sum(r.non_200 for r in (t.paced, t.paced_auto) if r)),
         "0"),
    ]
    lines = ["| | " + " | ".join(t.name for t in targets) + " | target |", "|---" * (len(targets) + 2) + "|"]
    for label, fn, target in rows:
        lines.append(f"| {label} | {cell(fn)} | {target} |")
    from report import revision

    notes = [
        "",
        f"Commit {revision()}; {os.cpu_count()} cores; load average (1/5/15 min) before {load_before}, "
        f"after {load_after}.",
        f"Closed loop: `wrk -t2 -c{CONNECTIONS} -d{plan.closed_s}s -s bench/storm.lua` after {plan.warmup_s} s of"
        f" warm-up; paced: {RATE:.0f}/s for {plan.paced_s:.0f} s from `loadgen.py` (open loop). Body ~1.4 KB,"
        " unique event_id, 3 of 4 requests a new incident.",
        f"The Jira emulator answers after {jira_latency_ms:g} ms (`--jira-latency-ms`; 0: at once).",
    ]
    for t in targets:
        if t.error:
            notes.append(f"{t.name}: ERROR {t.error}")
    return "\n".join(lines + notes) + "\n"


def main(quick: bool, jira_latency_ms: float = 0.0) -> int:
    if shutil.which("wrk") is None:
        say("wrk is not installed: apt-get install wrk")
        return 2
    plan = QUICK if quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="jira-sync-storm-"))
    procs = Procs(workdir)
    from jira_sync.crypto import generate_key

    key = generate_key()
    load_before = uptime()
    say(f"load average before: {load_before}")
    targets: list[Target] = []
    failed = False
    try:
        say("bare FastAPI")
        targets.append(bench_bare(procs, plan))
        pg, info = postgres_database(PG_DB)
        dbs: list[tuple[Database, int]] = [(sqlite_database(workdir), 0)]
        if pg is not None:
            dbs.append((pg, 2))
        else:
            say(info + " — skipping PostgreSQL")
        for db, workers in dbs:
            say(db.name)
            try:
                t = bench_service(procs, db, key, plan, workers, jira_latency_ms)
            except Exception as exc:
                failed = True
                traceback.print_exc()
                t = Target(db.name, error=f"{type(exc).__name__}: {exc}")
                procs.stop_all()
            targets.append(t)
            try:
                t.jira_per_change = jira_per_change(procs, db, key, plan)
            except Exception as exc:
                failed = True
                traceback.print_exc()
                t.error += f" lifecycle: {type(exc).__name__}: {exc}"
                procs.stop_all()
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        procs.stop_all()
        if failed:
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    text = render(targets, plan, load_before, uptime(), jira_latency_ms)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    say("\n" + text)
    return 1 if failed else 0
