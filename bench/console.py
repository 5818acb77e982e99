"""Console pagination at 100,000 incidents: page times at 1,000 and 100,000 incidents, side by side.

    .venv/bin/python bench/console.py [--quick]

For SQLite and PostgreSQL, and for each size: a fresh database, one integration created
through the REST API, then the incidents written straight into the tables (bulk inserts),
then the service started on it as a subprocess and its console pages and REST lists timed
over one keep-alive connection. Next to the pages, the same deep page as direct SQL with
keyset and with OFFSET pagination, and the `summary()` counters every list page runs, as a
whole and statement by statement (last event, synced count, failed count, last error), with
their query plans.
Prints figures side by side, never pass/fail, and writes them to bench/results/console.md.
See bench/README.md, "Console at 100,000 incidents".
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import gc
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import httpx
import sqlalchemy as sa
from cpu import cpu_seconds, machine_ticks, postgres_cpu
from databases import Database, postgres_database, sqlite_database
from procs import Proc, Procs, child_env, start_service
from report import machine
from run import interrupt_on_signals, say
from service_api import integration_config
from stats import fmt_ms, percentile

from jira_sync.crypto import generate_key
from jira_sync.store import integrations as integration_store
from jira_sync.store.db import make_engine, write
from jira_sync.store.tables import events, exchanges, incidents, link_counts

RESULTS = Path(__file__).resolve().parent / "results" / "console.md"
ADMIN_TOKEN = "bench-admin-token-0123456789"
USERNAME, PASSWORD = "bench", "bench-console-password"
PAGE = 50  # the console's page size (console/pages.py PAGE_SIZE), also asked of the REST API
CHUNK = 5000  # incident rows per executemany / transaction
SPAN_S = 25 * 86400  # incidents spread over 25 days: younger than the 30-day history retention
DOMINATES = 0.5  # summary() at p50 above this share of a list page's p50: it dominates
FLAT = 1.5  # a p50 within this factor of its time at the small size: "stays flat"


@dataclass(frozen=True)
class Counts:
    sizes: tuple[int, int]  # incidents: the small database, the large one
    warmup: int  # requests (or statements) before the clock starts
    reps: int  # timed repetitions of each


FULL = Counts(sizes=(1_000, 100_000), warmup=5, reps=40)
QUICK = Counts(sizes=(1_000, 20_000), warmup=3, reps=20)


# ------------------------------------------------------------------ results
@dataclass
class Timing:
    ms: list[float]
    note: str = ""  # what was checked of the answer (rows, bytes)

    @property
    def p50(self) -> float:
        return percentile(self.ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.ms, 95)

    def cell(self) -> str:
        return f"{fmt_ms(self.p50)} / {fmt_ms(self.p95)}"


@dataclass
class Scenario:
    """One database at one size."""

    db: str
    n: int
    error: str | None = None
    fill_s: float | None = None
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    http: dict[str, Timing] = field(default_factory=dict)  # page label -> timing
    sql: dict[str, Timing] = field(default_factory=dict)  # statement label -> timing
    plans: dict[str, str] = field(default_factory=dict)  # statement label -> query plan
    counters: dict[str, Any] = field(default_factory=dict)  # what summary() answered
    db_size: str = ""
    other_load: dict[str, float] = field(default_factory=dict)  # phase -> other processes' share of a core


# ------------------------------------------------------------------ the data
SEVERITIES = ["Critical"] * 15 + ["Warning"] * 55 + ["Info"] * 30
PROGRESS = ["Closed"] * 70 + ["Processing"] * 10 + ["Triggered"] * 20
PRIORITY_ID = {"Critical": "1", "Warning": "3", "Info": "4"}
JIRA_STATUS = {"Closed": ("31", "Done"), "Processing": ("21", "In Progress"), "Triggered": ("11", "To Do")}
SERVICES = ["checkout", "payments", "search", "auth", "inventory", "mail", "edge-proxy", "billing", "reports",
            "mobile-api", "ledger", "notifications"]
CHECKS = ["CPU above 90% for 5 min", "p99 latency above 2 s", "error rate above 5%", "disk 95% full",
          "pod restarting (CrashLoopBackOff)", "5xx spike on the load balancer", "certificate expires in 7 days",
          "queue backlog above 10k", "replication lag above 30 s", "health check failing"]
ERRORS = [
    ("Jira answered 400 to POST /rest/api/3/issue: Field 'priority' cannot be set. It is not on the appropriate "
     "screen, or unknown."),
    "Jira answered 403 to POST /rest/api/3/issue: You do not have permission to create issues in this project.",
    "Jira answered 400 to POST /rest/api/3/issue/{key}/transitions: Transition id '31' is not valid for this issue.",
    "Jira answered 404 to PUT /rest/api/3/issue/{key}: Issue does not exist or you do not have permission to see it.",
]
EVENTS_EVERY = 40  # every 40th incident has its events (i_new, i_ack, i_rslv): ~7 rows per 100 incidents
EXCHANGE_INCIDENTS = 12  # incidents with a recorded Jira exchange history


def incident_key(i: int) -> str:
    """A Flashduty-like incident id (24 hex digits), unique by its 8-digit prefix."""
    return f"{0x66000000 + i:08x}{(i * 2654435761) % (1 << 64):016x}"


def incident_rows(integration_id: int, n: int, now: float, rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    """n incidents in chunks, oldest first (so row ids grow with time, as in production):
    1% failed with a last_error, 2% pending (retrying later, so no worker picks them up),
    the rest idle; most idle ones linked to a Jira issue."""
    start = now - SPAN_S
    chunk: list[dict[str, Any]] = []
    for i in range(n):
        created = start + SPAN_S * i / n
        updated = min(now, created + rng.uniform(0, 3600))
        sev, prog = rng.choice(SEVERITIES), rng.choice(PROGRESS)
        service, check = rng.choice(SERVICES), rng.choice(CHECKS)
        host = f"{service}-{rng.randrange(1, 40):02d}.prod.internal"
        title = f"[{service}] {check} on {host}"
        key = incident_key(i)
        snapshot = {
            "incident_id": key, "title": title,
            "description": f"{check} on {host} ({service}, region eu-west-1). Runbook: "
                           f"https://wiki.example.com/runbooks/{service}#{check.split()[0].lower()}",
            "severity": sev, "progress": prog, "channel_id": 3100 + i % 7, "channel_name": f"{service} on-call",
            "labels": {"service": service, "host": host, "env": "prod", "region": "eu-west-1",
                       "check": check.split()[0].lower()},
            "fields": {}, "detail_url": f"https://console.flashcat.cloud/incident/detail/{key}",
            "num": f"{key[-6:].upper()}", "created_at": int(created),
        }
        row: dict[str, Any] = {
            "integration_id": integration_id, "incident_id": key, "snapshot": snapshot,
            "snapshot_time": int(updated * 1000), "title": title, "severity": sev, "progress": prog,
            "activated": True, "change_seq": 1 + i % 3, "synced_seq": 1 + i % 3, "comment_seq": 0,
            "comment_synced_seq": 0, "state": "idle", "pending_since": None, "due_at": None, "lease_owner": None,
            "lease_until": None, "attempts": 0, "last_error": None, "create_state": None, "jira_issue_id": None,
            "jira_issue_key": None, "jira_status_id": None, "jira_status": None, "jira_priority_id": None,
            "last_synced_at": None, "created_at": created, "updated_at": updated,
        }
        linked = rng.random() < 0.9
        if i % 100 == 37:  # 1% failed, after the worker gave up
            row.update(state="failed", attempts=8, synced_seq=0,
                       last_error=rng.choice(ERRORS).replace("{key}", f"OPS-{i + 1}"))
            linked = rng.random() < 0.4  # failed on a later update, the issue exists
        elif i % 50 == 11:  # 2% pending: failed transiently, next attempt in 2 days
            row.update(state="pending", attempts=rng.randrange(1, 4), synced_seq=0, pending_since=updated,
                       due_at=now + 2 * 86400)
        elif rng.random() < 0.08:  # never synced (nobody asked, manual trigger)
            row.update(activated=False, synced_seq=0)
            linked = False
        if linked:
            status_id, status = JIRA_STATUS[prog]
            row.update(create_state="created", jira_issue_id=str(10000 + i), jira_issue_key=f"OPS-{i + 1}",
                       jira_status_id=status_id, jira_status=status, jira_priority_id=PRIORITY_ID[sev],
                       last_synced_at=updated)
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def event_rows(integration_id: int, n: int, now: float) -> list[dict[str, Any]]:
    start = now - SPAN_S
    out = []
    for i in range(0, n, EVENTS_EVERY):
        created = start + SPAN_S * i / n
        for k, kind in enumerate(("i_new", "i_ack", "i_rslv")):
            at = created + 60 * k
            out.append({"integration_id": integration_id, "event_id": f"{incident_key(i)}-{kind}",
                        "incident_id": incident_key(i), "event_type": kind, "event_time": int(at * 1000),
                        "received_at": at + 0.2, "outcome": "queued" if k == 0 else "stored"})
    return out


def exchange_rows(row_ids: dict[str, int], now: float) -> list[dict[str, Any]]:
    out = []
    for row_id in row_ids.values():
        key, at = f"OPS-{row_id}", now - 3600
        for method, path, body, status, answer in (
            ("POST", "/rest/api/3/issue", {"fields": {"project": {"key": "OPS"}, "summary": "…"}}, 201,
             {"id": str(10000 + row_id), "key": key, "self": f"https://jira.example.com/rest/api/3/issue/{key}"}),
            ("GET", f"/rest/api/3/issue/{key}/transitions", None, 200,
             {"transitions": [{"id": "21", "name": "Start"}, {"id": "31", "name": "Done"}]}),
            ("POST", f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": "31"}}, 204, None),
            ("PUT", f"/rest/api/3/issue/{key}", {"fields": {"priority": {"id": "3"}}}, 204, None),
        ):
            out.append({"incident_row_id": row_id, "at": at, "method": method, "path": path,
                        "request_body": body, "status": status, "response_body": answer, "duration_ms": 120.0})
            at += 0.3
    return out


@dataclass
class Seeded:
    first_id: int  # the oldest incident's row id
    last_id: int
    lookup_id: str  # an old incident, for the q= lookup
    detail_id: str  # an incident with events and exchanges, for its page


async def fill(url: str, integration_id: int, n: int, s: Scenario) -> Seeded:
    """Bulk inserts straight into the tables (executemany, CHUNK rows per transaction)."""
    engine = make_engine(url)
    now = time.time()
    rng = random.Random(n)
    try:
        t0 = time.monotonic()
        for chunk in incident_rows(integration_id, n, now, rng):
            async with write(engine) as conn:
                await conn.execute(incidents.insert(), chunk)
        evs = event_rows(integration_id, n, now)
        async with write(engine) as conn:
            await conn.execute(events.insert(), evs)
        step = max(EVENTS_EVERY, n // EXCHANGE_INCIDENTS // EVENTS_EVERY * EVENTS_EVERY)
        detail = incident_key(n // 2 // EVENTS_EVERY * EVENTS_EVERY)
        chosen = {incident_key(i) for i in range(0, n, step)} | {detail}
        c = incidents.c
        async with write(engine) as conn:
            found = await conn.execute(sa.select(c.incident_id, c.id).where(
                c.integration_id == integration_id, c.incident_id.in_(sorted(chosen))))
            row_ids = {r.incident_id: r.id for r in found}
            exs = exchange_rows(row_ids, now)
            await conn.execute(exchanges.insert(), exs)
            first, last = (await conn.execute(
                sa.select(sa.func.min(c.id), sa.func.max(c.id)).where(c.integration_id == integration_id))).one()
            # the worker keeps this counter (in shards) as it links issues; rows inserted here set it directly
            linked = await conn.scalar(
                sa.select(sa.func.count()).where(c.integration_id == integration_id, c.jira_issue_id.is_not(None)))
            await conn.execute(link_counts.delete().where(link_counts.c.integration_id == integration_id))
            await conn.execute(link_counts.insert().values(integration_id=integration_id, shard=0, linked=linked))
        if engine.dialect.name == "postgresql":
            # what autovacuum would do within a minute of such a load: statistics and the visibility map
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
        s.fill_s = time.monotonic() - t0
        s.rows = {"incidents": n, "events": len(evs), "exchanges": len(exs)}
        return Seeded(first, last, incident_key(min(n - 1, 150)), detail)
    finally:
        await engine.dispose()


# ------------------------------------------------------------------ the service
def add_user(workdir: Path, url: str, key: str) -> None:
    env = child_env({"JIRA_SYNC_DATABASE_URL": url, "JIRA_SYNC_SECRET_KEY": key, "JIRA_SYNC_ADMIN_TOKEN": ADMIN_TOKEN})
    done = subprocess.run([sys.executable, "-m", "jira_sync", "users", "add", USERNAME, "--password-stdin"],
                          input=PASSWORD + "\n", env=env, cwd=workdir, capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"jira-sync users add: {done.returncode}: {done.stderr.strip()}")


def create_integration(service: Proc) -> int:
    with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30) as api:
        # manual trigger, check=false: nothing ever talks to this Jira
        r = api.post("/api/integrations", params={"check": "false"},
                     json=integration_config("bench-console", "https://jira.example.com", "manual"))
        if r.status_code != 201:
            raise RuntimeError(f"creating the integration: {r.status_code} {r.text}")
        return int(r.json()["id"])


def sign_in(client: httpx.Client) -> None:
    page = client.get("/console/login")
    m = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    if page.status_code != 200 or not m:
        raise RuntimeError(f"sign-in page: {page.status_code}, no login_csrf field")
    r = client.post("/console/login", data={"username": USERNAME, "password": PASSWORD, "login_csrf": m.group(1),
                                            "next": "/console/"})
    if r.status_code != 303 or "jira_sync_session" not in client.cookies:
        raise RuntimeError(f"sign-in: {r.status_code}, no session cookie")


@dataclass(frozen=True)
class Get:
    key: str
    client: httpx.Client
    path: str
    check: Callable[[httpx.Response], str]
    headers: dict[str, str] | None = None

    def send(self) -> httpx.Response:
        r = self.client.get(self.path, headers=self.headers)
        if r.status_code != 200:
            raise RuntimeError(f"GET {self.path}: {r.status_code} {r.text[:300]}")
        return r


def time_gets(gets: list[Get], counts: Counts) -> dict[str, Timing]:
    """Warm-up, then the pages in turn, round after round: a moment of outside load lands on
    every page alike instead of on whichever was being timed then."""
    notes = {}
    for g in gets:
        for _ in range(counts.warmup):
            notes[g.key] = g.check(g.send())
    gc.collect()
    ms: dict[str, list[float]] = {g.key: [] for g in gets}
    for _ in range(counts.reps):
        for g in gets:
            t0 = time.perf_counter()
            g.send()
            ms[g.key].append((time.perf_counter() - t0) * 1000)
    return {k: Timing(v, notes[k]) for k, v in ms.items()}


def html_rows(want: int | None) -> Callable[[httpx.Response], str]:
    def check(r: httpx.Response) -> str:
        rows = r.text.count('<tr class="state-')
        if want is not None and rows != want:
            raise RuntimeError(f"GET {r.request.url}: {rows} incident rows, expected {want}")
        return f"{rows} rows, {len(r.content) / 1024:.0f} KiB"
    return check


def json_rows(want: int) -> Callable[[httpx.Response], str]:
    def check(r: httpx.Response) -> str:
        rows = len(r.json()["items"])
        if rows != want:
            raise RuntimeError(f"GET {r.request.url}: {rows} items, expected {want}")
        return f"{rows} items, {len(r.content) / 1024:.0f} KiB"
    return check


def page_has(text: str) -> Callable[[httpx.Response], str]:
    def check(r: httpx.Response) -> str:
        if text not in r.text:
            raise RuntimeError(f"GET {r.request.url}: {text!r} not in the page")
        return f"{len(r.content) / 1024:.0f} KiB"
    return check


# the rows of the tables, in order: (key, label)
PAGES = [
    ("list", "Console: integrations list `/console/`"),
    ("first", "Console: integration page, first page"),
    ("refresh", "… its auto-refresh fragment (`#incidents`, every 5 s per open tab)"),
    ("deep", "Console: deep page (`before=` the 100th-oldest row)"),
    ("failed", "Console: failed only (`state=failed`), first page"),
    ("lookup", "Console: lookup by incident id (`q=`, an old incident)"),
    ("incident", "Console: one incident page (events + exchanges)"),
    ("rest_first", "REST: `/api/integrations/{id}/incidents?limit=50`"),
    ("rest_deep", "REST: same, deep (`before=` the 100th-oldest row)"),
]


def time_pages(service: Proc, integration_id: int, seeded: Seeded, n: int, counts: Counts, s: Scenario) -> None:
    base = f"/console/integrations/{integration_id}"
    rest = f"/api/integrations/{integration_id}/incidents"
    before = seeded.first_id + 100  # keyset cursor: rows first+99 .. first+50, as OFFSET n-100 would give
    failed_rows = min(PAGE, n // 100)
    with (httpx.Client(base_url=service.url, timeout=60) as console,
          httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60) as api):
        sign_in(console)
        partial = {"X-Console-Partial": "1", "X-Console-Target": "#incidents"}  # what console.js sends
        gets = [
            Get("list", console, "/console/", page_has("bench-console")),
            Get("first", console, base, html_rows(PAGE)),
            Get("refresh", console, base, html_rows(PAGE), partial),
            Get("deep", console, f"{base}?before={before}", html_rows(PAGE)),
            Get("failed", console, f"{base}?state=failed", html_rows(failed_rows)),
            Get("lookup", console, f"{base}?q={seeded.lookup_id}", html_rows(1)),
            Get("incident", console, f"{base}/incidents/{seeded.detail_id}", page_has("i_rslv")),
            Get("rest_first", api, f"{rest}?limit={PAGE}", json_rows(PAGE)),
            Get("rest_deep", api, f"{rest}?limit={PAGE}&before={before}", json_rows(PAGE)),
        ]
        with OtherLoad(service.pid) as load:
            s.http = time_gets(gets, counts)
        s.other_load["pages"] = load.other_core
    for key, t in s.http.items():
        say(f"    {key:<10} p50 {fmt_ms(t.p50):>6} ms, p95 {fmt_ms(t.p95):>6} ms  ({t.note})")
    say(f"    (other processes used {load.other_core:.0%} of a core meanwhile)")


class OtherLoad:
    """CPU used during a phase by processes not part of it (not the service, this process,
    nor PostgreSQL): on 2 cores, anything else running skews every figure."""

    def __init__(self, *pids: int) -> None:
        self.pids = pids
        self.other_core = 0.0

    def _take(self) -> tuple[float, tuple[int, int], float, dict[int, float]]:
        mine = time.process_time() + sum(cpu_seconds(p) for p in self.pids)
        return time.monotonic(), machine_ticks(), mine, postgres_cpu()

    def __enter__(self) -> Self:
        self._before = self._take()
        return self

    def __exit__(self, *exc: object) -> None:
        t0, (busy0, total0), mine0, pg0 = self._before
        t1, (busy1, total1), mine1, pg1 = self._take()
        wall = max(1e-9, t1 - t0)
        machine_s = (busy1 - busy0) / max(1, total1 - total0) * (os.cpu_count() or 1) * wall
        pg_s = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
        self.other_core = max(0.0, machine_s - (mine1 - mine0) - pg_s) / wall


# ------------------------------------------------------------------ direct SQL
SQL = [
    ("keyset_first", "First page (`ORDER BY id DESC LIMIT 50`)"),
    ("keyset_deep", "Deep page, keyset (`id < cursor ORDER BY id DESC LIMIT 50`)"),
    ("offset_deep", "Deep page, OFFSET (`ORDER BY id DESC LIMIT 50 OFFSET N-100`)"),
    ("failed_first", "Failed only, first page (`state = 'failed'`)"),
    ("lookup", "Lookup by incident id (`incident_id = ?`)"),
    ("summary", "`with_summary()`: the integration with its counters (every console list page runs it)"),
    ("summary:one_statement", ("… one statement: the kept linked count (a sum over its `link_counts` shards), and as subqueries `max(events.received_at)` "
                               "(`ix_events_received`), the failed count (`ix_incidents_state_list`) and the latest "
                               "`last_error` (partial `ix_incidents_last_error`)")),
]
SUMMARY_PARTS = [k for k, _ in SQL if k.startswith("summary:")]
SUMMARY_PAGES = ["list", "first", "refresh", "deep", "failed", "lookup"]  # the PAGES that run summary()


class StatementClock:
    """Times each statement the engine runs (cursor execute), so summary()'s are told apart."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.log: list[tuple[str, Any, float]] = []
        self._t0 = 0.0
        sync = engine.sync_engine
        sa.event.listen(sync, "before_cursor_execute", self._before)
        sa.event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self._t0 = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if self.on:
            self.log.append((statement, params, (time.perf_counter() - self._t0) * 1000))


def summary_part(statement: str) -> str:
    """Which of summary()'s statements this is; an unknown one stops the scenario, since the
    breakdown would no longer add up to what summary() runs."""
    sql = " ".join(statement.split())
    if "max(events.received_at)" in sql and "incidents.last_error" in sql and "count(" in sql:
        return "summary:one_statement"
    raise RuntimeError(f"summary() ran a statement the bench does not classify: {sql[:200]}")


async def explain(conn: Any, statement: str, params: Any) -> str:
    """The plan (run_sync: the SQLite engine's inline connection has no exec_driver_sql)."""
    sqlite = conn.dialect.name == "sqlite"
    sql = f"EXPLAIN QUERY PLAN {statement}" if sqlite else f"EXPLAIN (ANALYZE, COSTS OFF) {statement}"
    rows = await conn.run_sync(lambda sync: sync.exec_driver_sql(sql, params).all())
    return "; ".join(r[-1] for r in rows) if sqlite else "\n".join(r[0] for r in rows)


async def repeat(counts: Counts, fn: Callable[[], Any]) -> tuple[list[float], Any]:
    """warm-up, then `counts.reps` timed awaits of fn(); the last result."""
    ms, out = [], None
    for rep in range(counts.warmup + counts.reps):
        t0 = time.perf_counter()
        out = await fn()
        if rep >= counts.warmup:
            ms.append((time.perf_counter() - t0) * 1000)
    return ms, out


async def time_summary(conn: Any, clock: StatementClock, integration_id: int, counts: Counts, s: Scenario,
                       prefix: str) -> dict[str, tuple[str, Any]]:
    """summary() itself, and each of its statements (timed at the cursor, summed per call);
    the statements run, with their parameters, for EXPLAIN."""
    parts: dict[str, list[float]] = {}
    whole = []
    captured: dict[str, tuple[str, Any]] = {}
    for rep in range(counts.warmup + counts.reps):
        clock.log.clear()
        clock.on = True
        t0 = time.perf_counter()
        await integration_store.with_summary(conn, integration_id)
        elapsed = (time.perf_counter() - t0) * 1000
        clock.on = False
        this_call: dict[str, float] = {}
        for statement, params, ms in clock.log:
            part = summary_part(statement)
            this_call[part] = this_call.get(part, 0.0) + ms
            captured[part] = (statement, params)
        if rep < counts.warmup:
            continue
        whole.append(elapsed)
        for part, ms in this_call.items():
            parts.setdefault(part, []).append(ms)
    s.sql[prefix] = Timing(whole)
    for part, ms in parts.items():
        s.sql[part.replace("summary", prefix)] = Timing(ms)
    return captured


async def time_sql(url: str, integration_id: int, seeded: Seeded, n: int, counts: Counts, s: Scenario) -> None:
    engine = make_engine(url)
    clock = StatementClock(engine)
    c = incidents.c
    page = sa.select(incidents).where(c.integration_id == integration_id).order_by(c.id.desc()).limit(PAGE)
    statements = {  # the statements of web/api.py incident_page, and the OFFSET way
        "keyset_first": page,
        "keyset_deep": page.where(c.id < seeded.first_id + 100),
        "offset_deep": page.offset(n - 100),
        "failed_first": page.where(c.state == "failed"),
        "lookup": page.where(c.incident_id == seeded.lookup_id),
    }
    # summary()'s counters the slow way (one pass over the integration's incidents), to check its answer
    full_count = sa.select(
        sa.func.count().filter(c.jira_issue_id.is_not(None)).label("synced"),
        sa.func.count().filter(c.state == "failed").label("failed"),
    ).where(c.integration_id == integration_id)
    try:
        async with engine.connect() as conn:
            got = {}
            for key, q in statements.items():
                ms, rows = await repeat(counts, lambda q=q: _rows(conn, q))
                got[key] = [r["id"] for r in rows]
                s.sql[key] = Timing(ms, f"{len(rows)} rows")
            if got["keyset_deep"] != got["offset_deep"] or len(got["offset_deep"]) != PAGE:
                raise RuntimeError(f"keyset and OFFSET deep pages differ: {got['keyset_deep'][:3]}… vs "
                                   f"{got['offset_deep'][:3]}…")
            captured = await time_summary(conn, clock, integration_id, counts, s, "summary")
            missing = [p for p in SUMMARY_PARTS if p not in captured]
            if missing:
                raise RuntimeError(f"summary() did not run the statements for {missing}")
            for key, q in statements.items():
                s.plans[key] = await explain(conn, _literal(engine, q), ())
            for part, (statement, params) in captured.items():
                s.plans[part] = await explain(conn, statement, params)
            found = await integration_store.with_summary(conn, integration_id)
            assert found is not None
            s.counters = dataclasses.asdict(found[1])
            full = (await conn.execute(full_count)).one()
            if (s.counters["incidents_synced"], s.counters["failed"]) != (full.synced, full.failed):
                raise RuntimeError(f"summary() counts {s.counters} differ from a full count: {full.synced} synced, "
                                   f"{full.failed} failed")
    finally:
        await engine.dispose()


async def _rows(conn: Any, q: Any) -> list[Any]:
    return (await conn.execute(q)).mappings().all()


def _literal(engine: Any, q: Any) -> str:
    return str(q.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


# ------------------------------------------------------------------ one database
def bench_db(procs: Procs, workdir: Path, db: Database, key: str, counts: Counts, out: list[Scenario]) -> None:
    for n in counts.sizes:
        s = Scenario(db.name, n)
        out.append(s)
        service: Proc | None = None
        try:
            say(f"{db.name}, {n:,} incidents")
            url = db.fresh()
            service = start_service(procs, f"console-{db.name.lower()}-{n}", url, key, ADMIN_TOKEN)  # migrates
            integration_id = create_integration(service)
            add_user(workdir, url, key)
            seeded = asyncio.run(fill(url, integration_id, n, s))
            say(f"  filled in {s.fill_s:.1f} s: {s.rows}")
            if db.name == "SQLite":
                path = Path(url.removeprefix("sqlite:///"))
                size = sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
                s.db_size = f"{size / 2**20:.0f} MiB (with its WAL)"
            say("  pages over HTTP (p50 / p95):")
            time_pages(service, integration_id, seeded, n, counts, s)
            procs.stop(service)  # the direct SQL runs on a quiet machine, the service gone
            service = None
            say("  direct SQL:")
            with OtherLoad() as load:
                asyncio.run(time_sql(url, integration_id, seeded, n, counts, s))
            s.other_load["sql"] = load.other_core
            for k, _ in SQL:
                if k in s.sql:
                    say(f"    {k:<18} p50 {fmt_ms(s.sql[k].p50):>6} ms, p95 {fmt_ms(s.sql[k].p95):>6} ms")
            say(f"    (other processes used {load.other_core:.0%} of a core meanwhile)")
        except Exception as exc:  # noqa: BLE001  report it, keep the other scenarios' figures
            traceback.print_exc()
            s.error = f"{type(exc).__name__}: {exc}"
            if service is not None:
                say(f"  service log tail:\n{service.log_tail(15)}")
        finally:
            if service is not None:
                procs.stop(service)


# ------------------------------------------------------------------ the report
def _get(s: Scenario | None, table: str, key: str) -> Timing | None:
    if s is None:
        return None
    return (s.http if table == "http" else s.sql).get(key)


def _ratio(a: Timing | None, b: Timing | None) -> str:
    if a is None or b is None or not b.p50:
        return "–"
    return f"{a.p50 / b.p50:.2f}×"


def _cell(s: Scenario | None, t: Timing | None) -> str:
    if s is None:
        return "skipped"
    if t is None:
        return "error" if s.error else "–"
    return t.cell()


def by_target(results: list[Scenario], counts: Counts) -> list[tuple[str, Scenario | None, Scenario | None]]:
    names = list(dict.fromkeys(s.db for s in results))
    small, large = counts.sizes
    out = []
    for name in names:
        find = {s.n: s for s in results if s.db == name}
        out.append((name, find.get(small), find.get(large)))
    return out


def table(results: list[Scenario], counts: Counts, table_kind: str, rows: list[tuple[str, str]]) -> str:
    small, large = counts.sizes
    targets = by_target(results, counts)
    head = "| p50 / p95 (ms) |"
    for name, _, _ in targets:
        head += f" {name} {small:,} | {name} {large:,} | {_k(large)} / {_k(small)} |"
    lines = [head, "|---" * (1 + 3 * len(targets)) + "|"]
    for key, label in rows:
        line = f"| {label} |"
        for _, a, b in targets:
            ta, tb = _get(a, table_kind, key), _get(b, table_kind, key)
            line += f" {_cell(a, ta)} | {_cell(b, tb)} | {_ratio(tb, ta)} |"
        lines.append(line)
    return "\n".join(lines)


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


def _x(big: Timing | None, little: Timing | None) -> float | None:
    """big's p50 over little's, or None when either is missing (or little's rounds to nothing)."""
    if big is None or little is None or little.p50 <= 0:
        return None
    return big.p50 / little.p50


def plan_reads(plan: str) -> tuple[list[str], bool]:
    """The indexes a plan names, and whether it scans a whole table or index (SQLite `SCAN`,
    PostgreSQL `Seq Scan`) rather than searching a range."""
    indexes = list(dict.fromkeys(re.findall(r"\b(?:ix|uq)_\w+", plan)))
    full = bool(re.search(r"(^|; )SCAN |Seq Scan", plan, re.MULTILINE))
    return indexes, full


def _span(ts: list[Timing]) -> str:
    lo, hi = min(t.p50 for t in ts), max(t.p50 for t in ts)
    return f"{fmt_ms(lo)}–{fmt_ms(hi)} ms"


def findings(results: list[Scenario], counts: Counts) -> list[str]:
    small, large = counts.sizes
    out: list[str] = []
    for name, a, b in by_target(results, counts):
        if b is None or b.error and not b.http:
            continue
        grew = [(label, _get(b, "http", k), _get(a, "http", k)) for k, label in PAGES]
        measured = [(lbl, tb, ta, _x(tb, ta)) for lbl, tb, ta in grew if _x(tb, ta) is not None]
        steep = [(lbl, tb, ta, r) for lbl, tb, ta, r in measured if r > FLAT]
        out.append(f"- **{name}**: {len(measured) - len(steep)} of {len(grew)} pages stay within {FLAT}× of their "
                   f"{small:,}-incident p50 at {large:,} incidents" + (":" if steep else "."))
        for lbl, tb, ta, r in steep:
            out.append(f"  - {lbl}: {fmt_ms(ta.p50)} → {fmt_ms(tb.p50)} ms ({r:.2f}×)")
        lists_b = [t for k in SUMMARY_PAGES if (t := _get(b, "http", k))]
        lists_a = [t for k in SUMMARY_PAGES if (t := _get(a, "http", k))]
        if lists_b:
            out.append(f"  - the {len(lists_b)} console pages that run `summary()` (integrations list, integration "
                       f"page and its filters): p50 {_span(lists_b)} at {large:,}"
                       + (f" vs {_span(lists_a)} at {small:,}" if lists_a else ""))
        kd, od = _get(b, "sql", "keyset_deep"), _get(b, "sql", "offset_deep")
        if (r := _x(od, kd)) is not None:
            times = f"{r:.1f}×" if r < 10 else f"{r:.0f}×"
            out.append(f"  - deep page as direct SQL at {large:,}: keyset {fmt_ms(kd.p50)} ms vs OFFSET "
                       f"{fmt_ms(od.p50)} ms: OFFSET takes {times} the keyset time")
        out.extend(_summary_findings(a, b, small, large))
    return out


def _summary_findings(a: Scenario | None, b: Scenario, small: int, large: int) -> list[str]:
    out: list[str] = []
    sm, first = _get(b, "sql", "summary"), _get(b, "http", "first")
    if sm is None:
        return out
    sa_ = _get(a, "sql", "summary")
    line = f"  - `summary()`: {fmt_ms(sm.p50)} ms at p50 for {large:,} incidents"
    if (r := _x(sm, sa_)) is not None:
        line += f" ({fmt_ms(sa_.p50)} ms at {small:,}: {r:.1f}× for {large // small}× the incidents)"
    if first and first.p50 > 0:
        share = sm.p50 / first.p50
        line += f", {share:.0%} of the integration page's {fmt_ms(first.p50)} ms"
        if share > DOMINATES:
            line += f" — **more than {DOMINATES:.0%}: it dominates the list pages**"
    out.append(line)
    parts = []
    for part in SUMMARY_PARTS:
        tb, ta = _get(b, "sql", part), _get(a, "sql", part)
        if tb is None:
            continue
        r = _x(tb, ta)
        parts.append(f"{part.split(':')[1]} {fmt_ms(tb.p50)} ms" + (f" ({r:.1f}×)" if r is not None else ""))
    if parts:
        out.append(f"    by statement at {large:,} (p50, and its {_k(large)} / {_k(small)} ratio): " + ", ".join(parts))
    reads = {part: plan_reads(b.plans[part]) for part in SUMMARY_PARTS if part in b.plans}
    if reads:
        scans = [part.split(":")[1] for part, (_, full) in reads.items() if full]
        used = ", ".join(f"{part.split(':')[1]} {' + '.join(ix) or 'no named index'}" for part, (ix, _) in reads.items())
        if scans:
            out.append(f"    **plans at {large:,}: full scan in {', '.join(scans)}** (indexes named: {used})")
        else:
            out.append(f"    plans at {large:,}: every statement searches an index range, none scans a whole table or index ({used})")
    fa = _get(a, "http", "first")
    if first and fa and sa_:
        rest_small, rest_large = fa.p50 - sa_.p50, first.p50 - sm.p50
        if rest_large > 0 and rest_small > 0:
            out.append(f"    the integration page without summary() (page p50 − summary() p50, an estimate): "
                       f"≈ {fmt_ms(rest_small)} ms at {small:,} vs ≈ {fmt_ms(rest_large)} ms at {large:,}")
    return out


def details(results: list[Scenario]) -> str:
    lines: list[str] = []
    for s in results:
        lines.append(f"\n### {s.db}, {s.n:,} incidents\n")
        if s.error:
            lines.append(f"- error: {s.error}")
        if s.fill_s is not None:
            lines.append(f"- filled in {s.fill_s:.1f} s ({s.n / s.fill_s:,.0f} incidents/s): "
                         + ", ".join(f"{v:,} {k}" for k, v in s.rows.items())
                         + (f"; database file {s.db_size}" if s.db_size else ""))
        if s.other_load:
            lines.append("- other processes' CPU meanwhile: " + ", ".join(
                f"{phase} {share:.0%} of a core" for phase, share in s.other_load.items()))
        for key, label in PAGES:
            if key in s.http:
                lines.append(f"- {label}: {s.http[key].note}")
        if s.plans:
            lines.append("\nQuery plans (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE):\n")
            for key, label in SQL:
                if key in s.plans:
                    plan = s.plans[key].replace("\n", "\n    ")
                    lines.append(f"- {label}:\n\n    {plan}\n")
    return "\n".join(lines)


def method(counts: Counts, quick: bool) -> list[str]:
    small, large = counts.sizes
    mode = "--quick" if quick else "full"
    return [
        (f"- mode: {mode}; {small:,} and {large:,} incidents in one integration, each size on a fresh database; "
         "1% failed, 2% pending, the rest idle, ~90% linked to a Jira issue"),
        (f"- pages: the service as a subprocess, one keep-alive httpx connection from this process, signed in; "
         f"{counts.warmup} warm-up requests, then {counts.reps} timed, one after another (latency = send → whole "
         "answer read)"),
        (f"- direct SQL: the service stopped, the project's engine (`store.db.make_engine`), one connection; "
         f"{counts.warmup} warm-up + {counts.reps} timed executions, rows fetched; PostgreSQL after VACUUM "
         "ANALYZE, SQLite as the service leaves it (no ANALYZE)"),
    ]


OTHER_LOAD_WARNING = 0.25  # of a core, as bench/report.py


def quiet_machine_note(results: list[Scenario]) -> list[str]:
    busy = [f"{s.db} {s.n:,} {phase}: {share:.0%}" for s in results for phase, share in s.other_load.items()
            if share > OTHER_LOAD_WARNING]
    if not busy:
        return [(f"- machine: quiet during the timings (no other process used more than "
                 f"{OTHER_LOAD_WARNING:.0%} of a core)")]
    return [(f"- **machine was busy with other work during some timings** ({', '.join(busy)} of a core): those "
             "figures are perturbed; rerun on a quiet machine")]


def render(results: list[Scenario], counts: Counts, quick: bool, pg_version: str | None, took_s: float) -> str:
    large = counts.sizes[1]
    return "\n".join([
        f"# jira-sync console at {large:,} incidents — {dt.datetime.now().isoformat(timespec='seconds')}",
        "",
        *machine(pg_version),
        *method(counts, quick),
        *quiet_machine_note(results),
        f"- run took {took_s:.0f} s",
        "",
        "## Pages over HTTP",
        "",
        table(results, counts, "http", PAGES),
        "",
        "## The same queries as direct SQL",
        "",
        table(results, counts, "sql", SQL),
        "",
        "## Findings (printed, not asserted)",
        "",
        *findings(results, counts),
        "",
        "## Details",
        details(results),
        "",
    ])


# ------------------------------------------------------------------ the run
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 and 20,000 incidents, fewer repetitions")
    args = parser.parse_args()
    counts = QUICK if args.quick else FULL
    interrupt_on_signals()

    workdir = Path(tempfile.mkdtemp(prefix="jira-sync-bench-console-"))
    procs = Procs(workdir)
    key = generate_key()
    results: list[Scenario] = []
    pg_version: str | None = None
    t0 = time.monotonic()
    try:
        pg, pg_info = postgres_database()
        if pg is None:
            say(pg_info + " — skipping the PostgreSQL rows")
        else:
            pg_version = pg_info
        for db in [sqlite_database(workdir), pg]:
            if db is not None:
                bench_db(procs, workdir, db, key, counts, results)
    except KeyboardInterrupt:
        say("\ninterrupted: stopping the subprocesses")
        return 130
    finally:
        procs.stop_all()
        failed = any(s.error for s in results)
        if failed:
            say(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    text = render(results, counts, args.quick, pg_version, time.monotonic() - t0)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    say(f"\n{text}")
    say(f"(written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}; "
        f"run took {time.monotonic() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
