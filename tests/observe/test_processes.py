"""`jira-sync serve` and `jira-sync worker` as real processes: a worker's counters reach the
scrape, every log line is JSON off a terminal, and no secret reaches any line."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.conftest import wait_until
from e2e.processes import api, free_port, start, stop, up
from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from observe.test_metrics import scrape, value
from support.configs import CREDENTIALS


def _servers(jira: FakeJira, fd: FakeFlashduty):  # type: ignore[no-untyped-def]
    servers = [FakeJiraServer(jira), FakeFlashdutyServer(fd)]
    return servers, [s.start() for s in servers]


def _config(jira_url: str, fd_url: str, fd: FakeFlashduty, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "ops", "jira": {"url": jira_url, **CREDENTIALS["cloud"]}, "trigger": "automatic",
        "project": "OPS", "issue_type": "10001",
        "flashduty": {"base_url": fd_url, "app_key": fd.app_key}, **overrides,
    }


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, f"{path.name} is empty"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line in {path.name}: {line[:300]}") from None
    for entry in parsed:
        assert {"event", "level", "timestamp", "logger"} <= entry.keys(), entry
    return parsed


def _wait_drained(client: httpx.Client, timeout: float = 60) -> None:
    def drained() -> bool:
        q = client.get("/api/queue").json()
        return q["waiting"] == 0 and q["in_flight"] == 0
    wait_until(drained, timeout, "the queue to drain")


@pytest.mark.postgres
def test_a_worker_process_counts_reach_the_scrape_of_serve(settings, database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not database_url.startswith("postgresql"):
        pytest.skip("separate worker processes need PostgreSQL")
    jira, fd = FakeJira("cloud"), FakeFlashduty()
    servers, (jira_url, fd_url) = _servers(jira, fd)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_4194999.db"  # left by a process long gone: cleaned at start
    stale.write_bytes(b"\0" * 16)
    port = free_port()
    common = dict(metrics_dir=metrics_dir, log_format="json")
    serve = start(settings, "serve", port=port, args=("--no-worker",), log=tmp_path / "serve.log", **common)
    worker = start(settings, "worker", log=tmp_path / "worker.log", **common)
    try:
        wait_until(lambda: up(port), 30, "serve to answer")
        assert not stale.exists()
        with api(port) as client:
            created = client.post("/api/integrations", json=_config(jira_url, fd_url, fd)).json()
            iid, hook = created["id"], created["webhook"]
            for _ in range(4):
                r = client.post(hook["url"], json=fd.open_incident(), headers={hook["header"]: hook["secret"]})
                assert r.status_code == 200, r.text
            _wait_drained(client)
            s = scrape(client)
        site = jira_url.rstrip("/").lower()
        # serve made no Jira write (--no-worker): the creates were counted by the worker process
        assert jira.count_requests("POST", r"/rest/api/\d/issue$") == 4
        assert value(s, "jira_sync_jira_requests_total", site=site, operation="create_issue", status_class="2xx") == 4
        assert value(s, "jira_sync_syncs_total", integration=str(iid)) == 4
        assert value(s, "jira_sync_sync_latency_seconds_count", integration=str(iid)) == 4
        assert value(s, "jira_sync_webhooks_total", integration=str(iid), outcome="accepted") == 4
        # and every Jira request the emulator saw was counted by one process or the other
        assert value(s, "jira_sync_jira_requests_total", site=site) == len(jira.request_log)
        assert all(p.poll() is None for p in (serve, worker))
    finally:
        stop(worker, serve)
        for server in reversed(servers):
            server.stop()
    worker_lines = _json_lines(tmp_path / "worker.log")
    assert any(e["event"] == "reconciled" and e.get("incident") and e.get("integration") == iid
               for e in worker_lines)
    serve_lines = _json_lines(tmp_path / "serve.log")
    hooks = [e for e in serve_lines if e["event"].startswith("webhook ")]
    assert len(hooks) == 4 and all(e["request_id"] and e["event_id"] and e["incident"] for e in hooks)
    assert any(e["logger"].startswith("uvicorn") for e in serve_lines)  # third-party lines, same renderer


def test_no_secret_reaches_any_log_line(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Webhooks with the secret (header and ?secret=), Jira calls with the token (a refused one
    too), Flashduty calls with the app key (comments, recovery, a refused call), at DEBUG."""
    jira, fd = FakeJira("cloud"), FakeFlashduty()
    servers, (jira_url, fd_url) = _servers(jira, fd)
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start(settings, "serve", port=port, log=log, log_format="json", log_level="DEBUG", recovery_interval=1)
    secrets: list[str] = [fd.app_key, CREDENTIALS["cloud"]["secret"], settings.admin_token.get_secret_value(),
                          base64.b64encode(f"{CREDENTIALS['cloud']['username']}:{CREDENTIALS['cloud']['secret']}".encode()).decode()]
    try:
        wait_until(lambda: up(port), 30, "serve to answer")
        with api(port) as client:
            created = client.post("/api/integrations", json=_config(jira_url, fd_url, fd)).json()
            hook = created["webhook"]
            secrets.append(hook["secret"])
            p = fd.open_incident()
            incident = p["incident"]["incident_id"]
            assert client.post(hook["url"], json=p, headers={hook["header"]: hook["secret"],
                                                             "X-Request-Id": "proxy-req-42"}).status_code == 200
            comment = fd.add_comment(incident, "a comment")
            assert client.post(f"{hook['url']}?secret={hook['secret']}", json=comment).status_code == 200
            assert client.post(hook["url"], json=p, headers={hook["header"]: hook["secret"] + "x"}).status_code == 401
            _wait_drained(client)
            # Jira refuses the token: an auth failure logged, the site-and-account paused
            bad = _config(jira_url, fd_url, fd, name="bad")
            bad["jira"]["secret"] = "wrong-token-5f2c9e"
            secrets.append("wrong-token-5f2c9e")
            refused = client.post("/api/integrations", json=bad, params={"check": "false"}).json()
            rhook = refused["webhook"]
            secrets.append(rhook["secret"])
            assert client.post(rhook["url"], json=fd.open_incident(), headers={rhook["header"]: rhook["secret"]}).status_code == 200
            # Flashduty refuses the app key for the next calls (recovery runs every second)
            fd.fail_next(401, times=3)
            time.sleep(2.5)
            assert client.get("/metrics").status_code == 200
    finally:
        stop(proc)
        for server in reversed(servers):
            server.stop()
    text = log.read_text()
    lines = _json_lines(log)
    assert any(e["level"] == "debug" for e in lines)
    hooks = [e for e in lines if e["event"].startswith("webhook ")]
    assert len(hooks) == 4 and all(e.get("request_id") for e in hooks)
    assert hooks[0]["request_id"] == "proxy-req-42" and hooks[0]["incident"] == incident  # a proxy's id is kept
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:4]}...) reached the log"
    assert jira.count_requests("POST", r"/rest/api/\d/issue/[^/]+/comment$") == 1  # the comment path ran
