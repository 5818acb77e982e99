"""Soak: hundreds of incident lifecycles through the real webhook endpoint while processes
are killed with SIGKILL and Jira misbehaves; then the promises are checked on Jira itself.

    .venv/bin/python bench/soak.py                    # SQLite and PostgreSQL, 300 incidents, 20 kills each
    .venv/bin/python bench/soak.py --store postgres --pg-restart
    .venv/bin/python bench/soak.py --quick            # 20 incidents, 3 kills: what the test suite runs

What runs (2 cores, so every party is its own process or thread):
- the service under test as subprocesses: `jira-sync serve` (on SQLite, the only worker), or
  on PostgreSQL `serve` plus `--workers` `jira-sync worker` processes (a fresh database
  `jira_sync_soak_<pid>`, created here and dropped at the end);
- the Jira emulator (Cloud by default, `--flavour server`) and the Flashduty emulator, as
  real HTTP servers in threads of this process, so the soak can inject faults and read
  their final state;
- a sender pool delivering each incident's webhooks (from the Flashduty emulator's
  mutators: new, severity changes back and forth, comments, ack, unack, resolve, reopen)
  with duplicates and out-of-order deliveries. A delivery that finds the service down is
  retried until it is answered: this soak tests the sync's promises, not Flashduty's
  delivery (the recovery of deliveries Flashduty gave up on has tests of its own);
- chaos: SIGKILL of a random service process at random moments, restarted at once on the
  same port (`--kills`), Jira faults (429 with Retry-After, 503, timeouts, answers lost
  after a create, a comment or a transition was applied, connection resets), Cloud's
  search index lagging (`--lag`), and with `--pg-restart` three PostgreSQL crashes (an
  immediate restart: what was not flushed is lost) of a cluster the soak starts for itself
  (bench/private_pg.py: the machine's server is shared and never restarted).

At the end the faults stop, the queue must drain, and the emulators' state is checked:
exactly one issue per incident, each Flashduty comment exactly once, the priority and
status that the incident's final severity and progress map to, and no failed incident.
Every figure is printed (and written to bench/results/soak.md); the exit status is 1 when
any count that must be zero is not.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from private_pg import PrivatePostgres  # noqa: E402
from procs import HOST, Procs, child_env, free_port  # noqa: E402

from jira_sync.crypto import generate_key  # noqa: E402
from jira_sync.domain.comment import refs_in_text  # noqa: E402
from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer  # noqa: E402
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer  # noqa: E402
from jira_sync.devtools.fake_jira.faults import KINDS  # noqa: E402
from jira_sync.domain.two_way import issue_link_ref  # noqa: E402

ADMIN_TOKEN = "soak-admin-token-0123456789"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# the emulator's OPS project: Highest 1, High 2, Medium 3, Low 4
PRIORITY_FOR = {"Critical": "1", "Warning": "3", "Info": "4"}
STATUS_FOR = {"Triggered": "To Do", "Processing": "In Progress", "Closed": "Done"}
SEVERITIES = ("Critical", "Warning", "Info")


@dataclass
class Options:
    store: str
    incidents: int
    kills: int
    workers: int
    senders: int
    lag: float
    flavour: str
    pg_restart: bool
    seed: int
    drain_timeout: float
    lease: float | None


@dataclass
class Figures:
    events: int = 0
    deliveries: int = 0
    duplicates_sent: int = 0
    reordered: int = 0
    retried_while_down: int = 0
    kills: int = 0
    pg_restarts: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    drain_seconds: float = 0.0
    # must all be zero
    duplicate_issues: int = 0
    missing_issues: int = 0
    duplicate_comments: int = 0
    missing_comments: int = 0
    wrong_priorities: int = 0
    wrong_statuses: int = 0
    failed: int = 0
    not_drained: int = 0
    examples: list[str] = field(default_factory=list)

    ZERO = ("duplicate_issues", "missing_issues", "duplicate_comments", "missing_comments", "wrong_priorities",
            "wrong_statuses", "failed", "not_drained")

    @property
    def ok(self) -> bool:
        return all(getattr(self, name) == 0 for name in self.ZERO)


# ------------------------------------------------------------------ the service's processes
@dataclass
class Service:
    """The service's processes, each restartable with the same command and port."""

    procs: Procs
    env: dict[str, str]
    port: int
    workers: int
    running: dict[str, Any] = field(default_factory=dict)  # name -> Proc
    lock: threading.Lock = field(default_factory=threading.Lock)
    starts: int = 0  # each start logs to a file of its own: <name>.<n>.log

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start_all(self) -> None:
        self.start("serve")
        for n in range(self.workers):
            self.start(f"worker-{n}")

    def start(self, name: str) -> None:
        self.starts += 1
        log_name = f"{name}.{self.starts}"
        if name == "serve":
            argv = [sys.executable, "-m", "jira_sync", "serve"]
            proc = self.procs.start(log_name, argv, self.env, self.port, "/healthz")
        else:
            proc = self.procs.start(log_name, [sys.executable, "-m", "jira_sync", "worker"], self.env, 0, None)
        with self.lock:
            self.running[name] = proc

    def kill(self, name: str) -> None:
        with self.lock:
            proc = self.running.pop(name)
        proc.popen.kill()  # SIGKILL: no shutdown grace, leases and in-flight writes left as they are
        proc.popen.wait(10)
        if proc in self.procs.started:
            self.procs.started.remove(proc)


# ------------------------------------------------------------------ driving incidents
def lifecycle(fd: FakeFlashduty, rng: random.Random, n: int) -> tuple[str, list[dict[str, Any]]]:
    """One incident's events, in the order Flashduty makes them."""
    first = fd.open_incident(title=f"soak incident {n}", incident_severity=rng.choice(SEVERITIES))
    iid = first["incident"]["incident_id"]
    events = [first]
    severity = first["incident"]["incident_severity"]
    progress = "Triggered"
    for _ in range(rng.randint(3, 10)):
        step = rng.choice(["severity", "severity", "comment", "comment", "ack", "unack", "resolve", "reopen"])
        if step == "severity":
            # back and forth: A -> B -> A is where a forgotten write shows
            severity = rng.choice([s for s in SEVERITIES if s != severity])
            events.append(fd.set_severity(iid, severity))
        elif step == "comment":
            events.append(fd.add_comment(iid, f"note {rng.randrange(10**9)} on incident {n}", rng.choice(["Alice", "Bob"])))
        elif step == "ack" and progress == "Triggered":
            events.append(fd.ack(iid))
            progress = "Processing"
        elif step == "unack" and progress == "Processing":
            events.append(fd.unack(iid))
            progress = "Triggered"
        elif step == "resolve" and progress != "Closed":
            events.append(fd.resolve(iid))
            progress = "Closed"
        elif step == "reopen" and progress == "Closed":
            events.append(fd.reopen(iid))
            progress = "Triggered"
    return iid, events


def shuffled_with_duplicates(events: list[dict[str, Any]], rng: random.Random, figures: Figures) -> list[dict[str, Any]]:
    """Flashduty's delivery: out of order now and then, some sent twice."""
    out = list(events)
    for i in range(1, len(out)):  # swap neighbours: a late delivery
        if rng.random() < 0.2:
            out[i - 1], out[i] = out[i], out[i - 1]
            figures.reordered += 1
    for event in list(out):
        if rng.random() < 0.1:
            out.insert(rng.randrange(out.index(event), len(out) + 1), event)
            figures.duplicates_sent += 1
    return out


class Sender:
    def __init__(self, service: Service, path: str, headers: dict[str, str], figures: Figures) -> None:
        self.url = service.url + path
        self.headers = {**headers, "Content-Type": "application/json"}
        self.figures = figures
        self.local = threading.local()
        self.lock = threading.Lock()

    def send(self, payload: dict[str, Any]) -> None:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = httpx.Client(timeout=5)
        deadline = time.monotonic() + 180
        while True:
            try:
                status = client.post(self.url, json=payload, headers=self.headers).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                with self.lock:
                    self.figures.deliveries += 1
                return
            if status is not None and status not in (502, 503, 504):
                raise RuntimeError(f"webhook answered {status}: the soak's payloads are valid")
            with self.lock:
                self.figures.retried_while_down += 1
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not take a webhook for 180 s")
            time.sleep(0.1)


# ------------------------------------------------------------------ chaos
FAULTS = [  # (kind, method, path regex, extra)
    ("429", None, None, {"retry_after": 1.0, "times": 3}),
    ("503", None, None, {"times": 2}),
    ("timeout", None, None, {"delay": 3.0, "times": 1}),
    ("lost_response", "POST", r"/rest/api/\d/issue$", {"times": 1}),
    ("lost_response", "POST", r"/comment$", {"times": 1}),
    ("lost_response", "POST", r"/transitions$", {"times": 1}),
    ("lost_response", "PUT", r"/rest/api/\d/issue/[^/]+$", {"times": 1}),
    ("reset", None, None, {"times": 1}),  # a connection dropped before the request was applied
]
FAULTS = [f for f in FAULTS if f[0] in KINDS]


def chaos(opts: Options, service: Service, jira: FakeJira, done: threading.Event, stop: threading.Event,
          figures: Figures, rng: random.Random, duration: float, pg: PrivatePostgres | None) -> None:
    """Kills, faults and the PostgreSQL restart; then `done`, and the thread lives on until
    `stop`: processes it restarted are its children (PR_SET_PDEATHSIG, bench/procs.py), and
    would get SIGTERM the moment it ended."""
    try:
        _chaos(opts, service, jira, figures, rng, duration, pg)
    finally:
        done.set()
        stop.wait()


def _chaos(opts: Options, service: Service, jira: FakeJira, figures: Figures, rng: random.Random,
           duration: float, pg: PrivatePostgres | None) -> None:
    names = ["serve"] + [f"worker-{n}" for n in range(service.workers)]
    kill_times = sorted(rng.uniform(0.05, 0.95) * duration for _ in range(opts.kills))
    # the database crashes three times, at a quarter, half and three quarters of the run
    pg_times = [duration * f for f in (0.25, 0.5, 0.75)] if pg is not None else []
    started = time.monotonic()
    next_fault = 0.0
    while kill_times or pg_times:
        now = time.monotonic() - started
        if now >= next_fault:
            kind, method, path, extra = rng.choice(FAULTS)
            jira.faults.add(kind=kind, method=method, path=path, **extra)
            figures.faults[kind] = figures.faults.get(kind, 0) + 1
            next_fault = now + rng.uniform(0.3, 1.5)
        if kill_times and now >= kill_times[0]:
            kill_times.pop(0)
            name = rng.choice(names)
            service.kill(name)
            figures.kills += 1
            time.sleep(rng.uniform(0.0, 1.0))  # down a moment: webhooks meet a closed port
            service.start(name)
        if pg is not None and pg_times and now >= pg_times[0]:
            pg_times.pop(0)
            pg.restart()
            figures.pg_restarts += 1
        time.sleep(0.05)


# ------------------------------------------------------------------ checking the promises
def check(fd: FakeFlashduty, jira: FakeJira, incident_ids: list[str], queue: dict[str, Any], figures: Figures) -> None:
    for iid in incident_ids:
        inc = fd.incident(iid)
        issues = jira.issues_with_label(f"flashduty-{iid}")
        if len(issues) != 1:
            if len(issues) > 1:
                figures.duplicate_issues += len(issues) - 1
            else:
                figures.missing_issues += 1
            figures.examples.append(f"{iid}: {len(issues)} issues")
            continue
        issue = issues[0]
        want_priority = PRIORITY_FOR[inc["incident_severity"]]
        got_priority = (issue.fields.get("priority") or {}).get("id")
        if got_priority != want_priority:
            figures.wrong_priorities += 1
            figures.examples.append(f"{iid} ({issue.key}): priority {got_priority}, want {want_priority}")
        want_status = STATUS_FOR[inc["progress"]]
        if issue.status_name != want_status:
            figures.wrong_statuses += 1
            figures.examples.append(f"{iid} ({issue.key}): status {issue.status_name!r}, want {want_status!r}")
        texts = [c.text for c in issue.comments]
        comments = [e for e in fd.timeline(iid) if e.get("type") == "i_comm"]
        # jira-sync's own comment on the incident (the issue's key and link, marked with its
        # ref): exactly once in Flashduty, and never copied back into Jira
        link_ref = issue_link_ref(issue.id)
        ours = [e for e in comments if link_ref in refs_in_text(e["detail"]["comment"])]
        if len(ours) != 1 or any(o["detail"]["comment"] in t for o in ours for t in texts):
            if len(ours) == 0:
                figures.missing_comments += 1
            else:
                figures.duplicate_comments += max(1, len(ours) - 1)
            figures.examples.append(f"{iid} ({issue.key}): the issue-link comment {len(ours)} times in Flashduty")
        for entry in comments:
            if entry in ours:
                continue
            said = entry["detail"]["comment"]
            found = sum(said in t for t in texts)
            if found > 1:
                figures.duplicate_comments += found - 1
                figures.examples.append(f"{iid} ({issue.key}): comment {said!r} {found} times")
            elif found == 0:
                figures.missing_comments += 1
                figures.examples.append(f"{iid} ({issue.key}): comment {said!r} missing")
    figures.failed = int(queue.get("failed", 0))
    figures.not_drained = int(queue.get("waiting", 0)) + int(queue.get("in_flight", 0))


def explain(api: httpx.Client, integration_id: int, figures: Figures) -> None:
    """For each incident named in the examples: what the service says of it (state, last error)."""
    from urllib.parse import quote

    for i, example in enumerate(list(figures.examples)[:15]):
        iid = example.split(" ", 1)[0].rstrip(":")
        try:
            d = api.get(f"/api/integrations/{integration_id}/incidents/{quote(iid, safe='')}").json()
        except (httpx.HTTPError, ValueError):
            continue
        figures.examples[i] = (f"{example} [service: {d.get('state')}, create {d.get('jira', {}).get('create_state')}, "
                               f"attempts {d.get('attempts')}, last error: {d.get('last_error')}]")


def wait_drained(api: httpx.Client, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {"waiting": -1, "in_flight": 0}  # unknown until the API answers
    while time.monotonic() < deadline:
        try:
            last = api.get("/api/queue").json()
        except (httpx.HTTPError, ValueError):
            time.sleep(0.5)
            continue
        if last.get("waiting") == 0 and last.get("in_flight") == 0:
            return last
        time.sleep(0.5)
    return last


# ------------------------------------------------------------------ one soak
def database(opts: Options, workdir: Path, admin_url: str = PG_ADMIN) -> tuple[str, Any]:
    if opts.store == "sqlite":
        return f"sqlite:///{workdir}/soak.db", None
    import asyncio

    import asyncpg

    name = f"jira_sync_soak_{os.getpid()}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(create())
    where = admin_url.removeprefix("postgresql://").rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{where}/{name}", lambda: asyncio.run(drop())


def soak(opts: Options) -> Figures:
    figures = Figures()
    rng = random.Random(opts.seed)
    workdir = Path(tempfile.mkdtemp(prefix=f"soak-{opts.store}-"))
    jira = FakeJira(opts.flavour, search_lag_s=opts.lag)
    jira_server = FakeJiraServer(jira)
    jira_url = jira_server.start()
    fd = FakeFlashduty()
    fd_server = FakeFlashdutyServer(fd)
    fd_url = fd_server.start()
    pg = PrivatePostgres().start() if opts.pg_restart and opts.store == "postgres" else None
    db_url, drop_db = database(opts, workdir, pg.admin_url if pg else PG_ADMIN)
    procs = Procs(workdir)
    env = {
        "JIRA_SYNC_DATABASE_URL": db_url, "JIRA_SYNC_SECRET_KEY": generate_key(), "JIRA_SYNC_ADMIN_TOKEN": ADMIN_TOKEN,
        "JIRA_SYNC_HOST": HOST, "JIRA_SYNC_JIRA_TIMEOUT": "2", "JIRA_SYNC_LOG_LEVEL": "INFO",
    }
    if opts.lease is not None:
        env["JIRA_SYNC_LEASE_SECONDS"] = str(opts.lease)
    port = free_port()
    env["JIRA_SYNC_PORT"] = str(port)
    service = Service(procs, child_env(env), port, opts.workers if opts.store == "postgres" else 0)
    started = time.monotonic()
    chaos_thread: threading.Thread | None = None
    try:
        service.start_all()
        api = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        creds = ({"username": "admin@example.com", "secret": "cloud-token"} if opts.flavour == "cloud"
                 else {"username": "admin", "secret": "secret"})
        r = api.post("/api/integrations", json={
            "name": "soak", "jira": {"platform": opts.flavour, "url": jira_url, **creds}, "trigger": "automatic",
            "project": "OPS", "issue_type": "10001", "severity_map": {"Critical": "Highest", "Warning": "Medium",
                                                                       "Info": "Low"},
            "flashduty": {"base_url": fd_url, "app_key": fd.app_key},
        })
        if r.status_code != 201:
            raise RuntimeError(f"creating the integration: {r.status_code} {r.text}")
        hook = r.json()["webhook"]
        from urllib.parse import urlsplit

        sender = Sender(service, urlsplit(hook["url"]).path, {hook["header"]: hook["secret"]}, figures)
        plans = [lifecycle(fd, rng, n) for n in range(opts.incidents)]
        figures.events = sum(len(events) for _, events in plans)
        deliveries = [shuffled_with_duplicates(events, rng, figures) for _, events in plans]
        # sending is paced over this long, and the kills and faults spread over the same window
        expected_seconds = max(20.0, figures.events / 50)
        gap = expected_seconds / max(1.0, figures.events / opts.senders)  # mean pause between one sender's posts
        chaos_done, stop = threading.Event(), threading.Event()
        chaos_thread = threading.Thread(target=chaos, args=(opts, service, jira, chaos_done, stop, figures,
                                                            random.Random(opts.seed + 1), expected_seconds, pg), daemon=True)
        chaos_thread.start()

        def deliver(items: list[dict[str, Any]]) -> None:
            for payload in items:
                sender.send(payload)
                time.sleep(rng.uniform(0.0, 2 * gap))

        with ThreadPoolExecutor(opts.senders) as pool:
            list(pool.map(deliver, deliveries))
        chaos_done.wait()  # every planned kill happens, even if sending was quicker
        jira.faults.clear()
        drain_started = time.monotonic()
        queue = wait_drained(api, opts.drain_timeout)
        figures.drain_seconds = time.monotonic() - drain_started
        figures.seconds = time.monotonic() - started
        check(fd, jira, [iid for iid, _ in plans], queue, figures)
        explain(api, r.json()["id"], figures)
        api.close()
    finally:
        if chaos_thread is not None:
            stop.set()
            chaos_thread.join()
        procs.stop_all()
        jira_server.stop()
        fd_server.stop()
        if drop_db is not None:
            drop_db()
        if pg is not None:
            pg.stop()
    return figures


def report(runs: dict[str, Figures], opts: Options) -> str:
    rows = [
        ("incidents", lambda f: opts.incidents), ("events (deliveries made, with duplicates)", lambda f: f"{f.events} ({f.deliveries})"),
        ("duplicated / reordered deliveries", lambda f: f"{f.duplicates_sent} / {f.reordered}"),
        ("deliveries retried while the service was down", lambda f: f.retried_while_down),
        ("SIGKILLs (PostgreSQL crashes)", lambda f: f"{f.kills} ({f.pg_restarts})"),
        ("Jira faults injected", lambda f: ", ".join(f"{k} {v}" for k, v in sorted(f.faults.items())) or "none"),
        ("run / drain after the last delivery (s)", lambda f: f"{f.seconds:.0f} / {f.drain_seconds:.1f}"),
    ] + [(name.replace("_", " "), (lambda n: lambda f: getattr(f, n))(name)) for name in Figures.ZERO]
    names = list(runs)
    out = [f"| soak ({opts.flavour}, search lag {opts.lag:g} s, seed {opts.seed}) | " + " | ".join(names) + " |",
           "|---|" + "---|" * len(names)]
    for label, get in rows:
        out.append(f"| {label} | " + " | ".join(str(get(runs[n])) for n in names) + " |")
    for name, f in runs.items():
        for example in f.examples[:15]:
            out.append(f"\n- {name}: {example}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--incidents", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="jira-sync worker processes on PostgreSQL")
    parser.add_argument("--senders", type=int, default=8, help="concurrent webhook senders")
    parser.add_argument("--lag", type=float, default=5.0, help="Cloud search index lag (s)")
    parser.add_argument("--flavour", choices=["cloud", "server"], default="cloud")
    parser.add_argument("--pg-restart", action="store_true", help="run on a private PostgreSQL cluster and crash it three times (immediate restarts)")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--lease", type=float, default=None, help="JIRA_SYNC_LEASE_SECONDS (default: the service's)")
    parser.add_argument("--quick", action="store_true", help="20 incidents, 3 kills (the test suite's version)")
    args = parser.parse_args()
    if args.quick:
        args.incidents, args.kills = 20, 3
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    runs: dict[str, Figures] = {}
    for store in stores:
        opts = Options(store, args.incidents, args.kills, args.workers, args.senders, args.lag, args.flavour,
                       args.pg_restart, args.seed, args.drain_timeout, args.lease)
        runs[store] = soak(opts)
    text = report(runs, opts)
    print(text)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "soak.md").write_text(text + "\n")
    return 0 if all(f.ok for f in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
