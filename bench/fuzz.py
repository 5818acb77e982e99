"""The long fuzz run: hostile webhook deliveries, then schemathesis over every route, against a
served `jira-sync serve` process (real uvicorn, the limits of `serve`) on SQLite and PostgreSQL.

    .venv/bin/python bench/fuzz.py                       # 10,000 deliveries per database, 100 API examples per route
    .venv/bin/python bench/fuzz.py --webhooks 500 --api-examples 10 --databases sqlite

Each delivery is checked as tests/input/test_intake_properties.py checks it (tests/support/
hostile.py): a 400 with the parser's own message, or a 200 whose incident the API and the
console read back exactly. Printed per database: answers by status, 5xx, connection resets,
problems, incidents read back at the end, the worker's queue, tracebacks in the service log,
the service's RSS every 1,000 deliveries, and schemathesis' summary. Exit status 1 if any
figure that must be 0 is not.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, Phase, given, settings

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

from procs import HOST, Procs, child_env, free_port, start_fake_jira  # noqa: E402
from service_api import integration_config  # noqa: E402
from support.apifuzz import run_schemathesis  # noqa: E402
from support.hostile import IntakeModel, deliveries  # noqa: E402

from jira_sync.crypto import generate_key  # noqa: E402

TOKEN = "fuzz-admin-token-0123456789"
PASSWORD = "fuzz console password"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DB = f"jira_sync_fuzz_{os.getpid()}"  # made and dropped by this run only


async def _pg(statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=3)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def start(procs: Procs, database_url: str, workdir: Path) -> tuple[Any, dict[str, str]]:
    env = child_env({"JIRA_SYNC_DATABASE_URL": database_url, "JIRA_SYNC_SECRET_KEY": generate_key(),
                     "JIRA_SYNC_ADMIN_TOKEN": TOKEN, "JIRA_SYNC_HOST": HOST, "JIRA_SYNC_JIRA_TIMEOUT": "2"})
    subprocess.run([sys.executable, "-m", "jira_sync", "users", "add", "fuzz", "--password-stdin"], env=env,
                   input=PASSWORD, text=True, check=True, capture_output=True, cwd=workdir)
    port = free_port()
    env["JIRA_SYNC_PORT"] = str(port)
    return procs.start("service", [sys.executable, "-m", "jira_sync", "serve"], env, port, "/healthz"), env


def signed_in_console(url: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=30)
    token = re.search(r'name="login_csrf" value="([^"]+)"', c.get("/console/login").text).group(1)  # type: ignore[union-attr]
    r = c.post("/console/login", data={"username": "fuzz", "password": PASSWORD, "login_csrf": token})
    assert r.status_code == 303, r.status_code
    return c


def fuzz_webhooks(url: str, model: IntakeModel, examples: int, service: Any) -> dict[str, Any]:
    statuses: collections.Counter[int] = collections.Counter()
    problems: list[str] = []
    resets = 0
    rss: list[int] = []
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    console = signed_in_console(url)
    started = time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(raw=deliveries())
    def deliver(raw: bytes) -> None:
        nonlocal resets
        n = sum(statuses.values()) + resets
        if n % 1000 == 0:
            rss.append(service.memory_kb()["VmRSS"] // 1024)
        try:
            found = model.check(api, raw, console)
            statuses[_last_status(found, raw)] += 1
            problems.extend(found[:1])
        except httpx.TransportError as exc:
            resets += 1
            problems.append(f"transport: {type(exc).__name__}: {exc}")

    deliver()
    rss.append(service.memory_kb()["VmRSS"] // 1024)
    elapsed = time.monotonic() - started
    api.close()
    console.close()
    return {"statuses": statuses, "problems": problems, "resets": resets, "rss": rss, "seconds": elapsed}


def _last_status(problems: list[str], raw: bytes) -> int:
    from jira_sync.sources.flashduty import PayloadError, parse_webhook

    if problems:
        return 0  # counted as "wrong answer"; the problem says which
    try:
        parse_webhook(raw)
    except PayloadError:
        return 400
    return 200


def read_back_everything(url: str, integration_id: int) -> tuple[int, int]:
    """(incidents listed, incidents whose detail did not answer 200), walking every page."""
    listed = unreadable = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        before = None
        while True:
            params: dict[str, Any] = {"limit": 500} | ({"before": before} if before else {})
            page = api.get(f"/api/integrations/{integration_id}/incidents", params=params).json()
            for item in page["items"]:
                listed += 1
                r = api.get(f"/api/integrations/{integration_id}/incidents/{quote(item['incident_id'], safe='')}")
                unreadable += r.status_code != 200
            before = page["next_before"]
            if not before:
                return listed, unreadable


def wait_drained(url: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        while True:
            stats = api.get("/api/queue").json()
            if (stats["waiting"] == 0 and stats["in_flight"] == 0) or time.monotonic() > deadline:
                return stats
            time.sleep(0.2)


def run_one(name: str, database_url: str, args: argparse.Namespace, workdir: Path) -> bool:
    procs = Procs(workdir)
    try:
        jira = start_fake_jira(procs, "fake-jira")
        service, _ = start(procs, database_url, workdir)
        with httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
            created = api.post("/api/integrations", params={"check": "true"},
                               json=integration_config("fuzz", jira.url, "automatic")).json()
        model = IntakeModel(created["id"], created["webhook"]["secret"])
        w = fuzz_webhooks(service.url, model, args.webhooks, service)
        queue = wait_drained(service.url)
        listed, unreadable = read_back_everything(service.url, created["id"])
        health = httpx.get(service.url + "/healthz", timeout=10).json()["status"]
        st = run_schemathesis(service.url, TOKEN, created["webhook"]["secret"], args.api_examples, seed=args.seed)
        health_after = httpx.get(service.url + "/healthz", timeout=10).json()["status"]
        log_text = service.log.read_text(errors="replace")
        tracebacks = log_text.count("Traceback")
    finally:
        procs.stop_all()
    s = w["statuses"]
    total = sum(s.values()) + w["resets"]
    print(f"\n== {name}: {total:,} webhook deliveries in {w['seconds']:.0f} s")
    print(f"   200 stored: {s[200]:,}   400 refused by name: {s[400]:,}   wrong answers: {s[0]:,}   "
          f"5xx: {sum(1 for p in w['problems'] if ' got 5' in p)}   resets: {w['resets']}")
    for p in w["problems"][:10]:
        print("   problem:", p[:300])
    print(f"   incidents stored: {listed:,}, read back 200: {listed - unreadable:,}; queue after: waiting "
          f"{queue['waiting']}, in flight {queue['in_flight']}, failed {queue['failed']}, linked {queue['linked']}")
    print(f"   service RSS (MB) every 1,000 deliveries: {w['rss']}")
    print(f"   /healthz: {health} after the webhooks, {health_after} after schemathesis; tracebacks in the log: {tracebacks}")
    if tracebacks:  # the first one, with what was logged just before it
        at = log_text.index("Traceback")
        print("   first traceback:\n" + log_text[max(0, log_text.rfind("\n", 0, at - 600)):at + 4000])
    print(f"   schemathesis: {st.generated:,} requests over every route, exit {st.returncode}, "
          f"server errors {st.server_errors}")
    for line in st.output.splitlines():
        if re.match(r"\s*(\d+ generated|❌ ST)", line):
            print("     ", line.strip())
    ok = (not w["problems"] and not w["resets"] and not unreadable and health == health_after == "ok"
          and not tracebacks and st.returncode == 0 and queue["waiting"] == queue["in_flight"] == 0)
    print(f"   => {'clean' if ok else 'NOT CLEAN'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=10_000, help="hostile deliveries per database")
    parser.add_argument("--api-examples", type=int, default=100, help="schemathesis examples per operation")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="jira-sync-fuzz-") as tmp:
        workdir = Path(tmp)
        for db in args.databases.split(","):
            if db == "sqlite":
                ok &= run_one("SQLite", f"sqlite:///{workdir}/fuzz.db", args, workdir)
            elif db == "postgres":
                asyncio.run(_pg(f'CREATE DATABASE "{PG_DB}"'))
                try:
                    ok &= run_one("PostgreSQL", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}", args, workdir)
                finally:
                    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
