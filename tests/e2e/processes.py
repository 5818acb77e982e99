"""`jira-sync serve` and `jira-sync worker` as real processes, for tests that kill or race them."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from jira_sync.settings import Settings
from support import ADMIN_TOKEN

HERE = os.path.dirname(__file__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(settings: Settings, command: str, *, log: Path | None = None, port: int | None = None,
          args: tuple[str, ...] = (), **env: Any) -> subprocess.Popen:
    """Start `jira-sync COMMAND [ARGS]` on the test's database; `env` adds JIRA_SYNC_* settings by name."""
    environ = dict(
        os.environ,
        JIRA_SYNC_DATABASE_URL=settings.database_url,
        JIRA_SYNC_SECRET_KEY=settings.secret_key.get_secret_value(),
        JIRA_SYNC_ADMIN_TOKEN=ADMIN_TOKEN,
        **{f"JIRA_SYNC_{k.upper()}": str(v) for k, v in env.items()},
    )
    if port is not None:
        environ["JIRA_SYNC_PORT"] = str(port)
    out = open(log, "ab") if log is not None else None
    try:
        return subprocess.Popen([sys.executable, "-m", "jira_sync", command, *args], env=environ, cwd=HERE,
                                stdout=out, stderr=subprocess.STDOUT if out else None)
    finally:
        if out is not None:
            out.close()


def up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def api(port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                        timeout=30)


def kill(proc: subprocess.Popen) -> None:
    """kill -9: no shutdown code runs, claims stay as they were."""
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
