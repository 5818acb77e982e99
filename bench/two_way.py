"""Two-way sync figures: how long a person's move in Jira takes to reach the Flashduty incident,
by webhook (Cloud: signed; Server: secret in the URL) and by polling alone (the webhook lost),
and how many writes each side got (an echo would show as one more).

    .venv/bin/python bench/two_way.py [--n 10] [--poll 3] [--settle 0.2]

Everything runs in this process on loopback sockets: the service (uvicorn, SQLite in a temp
dir), and the Jira and Flashduty emulators (each delivers its webhooks from its own threads).
Latency is from the emulator's transition returning to the incident showing Processing in the
Flashduty emulator (read every 10 ms). Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from jira_sync.crypto import generate_key
from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from jira_sync.settings import Settings
from jira_sync.web.app import create_app
from jira_sync.web.server import uvicorn_config

TOKEN = "bench-admin-token-0123456789"
SETTLE = 0.2  # seconds between the issue appearing and the move (--settle)
CREDENTIALS = {"cloud": {"platform": "cloud", "username": "admin@example.com", "secret": "cloud-token"},
               "server": {"platform": "server", "username": "admin", "secret": "secret"}}


def run(flavour: str, via: str, n: int, poll: int, workdir: Path) -> dict[str, object]:
    jira, fd = FakeJira(flavour), FakeFlashduty()
    jira_server, fd_server = FakeJiraServer(jira), FakeFlashdutyServer(fd)
    jira_url, fd_url = jira_server.start(), fd_server.start()
    db = workdir / f"{flavour}-{via}.db"
    settings = Settings(database_url=f"sqlite:///{db}", secret_key=generate_key(), admin_token=TOKEN,
                        recovery_interval=3600)
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings, host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    settings.public_url = url
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    try:
        two_way = {f: {"direction": "two_way"} for f in ("status", "comments", "priority")}
        created = api.post("/api/integrations", json={
            "name": "bench", "jira": {"url": jira_url, **CREDENTIALS[flavour]}, "project": "OPS", "issue_type": "Task",
            "severity_map": {"Critical": "Highest", "Warning": "Medium", "Info": "Low"},
            "flashduty": {"base_url": fd_url, "app_key": fd.app_key},
            "two_way": {**two_way, "poll_seconds": poll if via == "poll" else 0}}).json()
        hook = created["webhook"]
        fd.add_webhook(hook["url"], headers={hook["header"]: hook["secret"]})
        if via == "webhook":
            assert api.post(f"/api/integrations/{created['id']}/two-way/jira-webhook",
                            params={"register": "true"}).json()["registered"]
        else:
            jira.drop_webhooks = True
        alice, took = jira.act_as("alice"), []
        for _ in range(n):
            iid = fd.open_incident()["incident"]["incident_id"]
            issue = _wait(lambda: jira.issues_with_label(f"flashduty-{iid}"), 20)[0]
            time.sleep(SETTLE)  # 0: the move may come before jira-sync first looked at the new issue
            alice.transition(issue.key, "In Progress")
            moved = time.perf_counter()
            try:
                _wait(lambda: fd.incident(iid)["progress"] == "Processing", poll * 3 + 20)
            except TimeoutError:
                rows = api.get(f"/api/integrations/{created['id']}/incidents/{iid}").json()
                raise TimeoutError(f"{flavour} {via}: {rows}") from None
            took.append(time.perf_counter() - moved)
        time.sleep(max(2.0, poll * 1.5))  # every echo that is coming has come
        me = fd.person("Jira Sync")["person_id"]
        ours = [e for i in fd.incidents for e in fd.timeline(i) if e.get("creator_id") == me]
        admin_moves = sum(1 for i in jira.issues.values() for g in i.changelog if g.author and g.author.name == "admin")
        return {"flavour": flavour, "via": via, "n": n, "p50": statistics.median(took), "max": max(took),
                "acks": sum(e["type"] == "i_ack" for e in ours), "other_fd_writes": sum(e["type"] not in (
                    "i_ack", "i_comm") for e in ours), "jira_writes_after_create": admin_moves}
    finally:
        api.close()
        server.should_exit = True
        thread.join(20)
        jira.close()
        jira_server.stop()
        fd_server.stop()


def _wait(predicate, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not (value := predicate()):
        if time.time() > deadline:
            raise TimeoutError("timed out")
        time.sleep(0.01)
    return value


def main() -> None:
    global SETTLE
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--poll", type=int, default=3)
    parser.add_argument("--settle", type=float, default=SETTLE,
                        help="seconds from the issue appearing to the move; 0 races jira-sync's first look")
    args = parser.parse_args()
    SETTLE = args.settle
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for flavour in ("cloud", "server"):
            for via in ("webhook", "poll"):
                rows.append(run(flavour, via, args.n, args.poll, Path(tmp)))
    print(f"| Jira | path | moves | Jira move -> incident acknowledged, p50 / max (s) | acks | other Flashduty writes "
          f"| jira-sync's Jira writes after the creates |\n|---|---|---|---|---|---|---|")
    for r in rows:
        path = r["via"] if r["via"] == "webhook" else f"polling every {args.poll} s, webhooks lost"
        print(f"| {r['flavour']} | {path} | {r['n']} | {r['p50']:.3f} / {r['max']:.3f} | {r['acks']} | "
              f"{r['other_fd_writes']} | {r['jira_writes_after_create']} |")


if __name__ == "__main__":
    main()
