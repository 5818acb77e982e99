"""The soak's short version (`bench/soak.py --quick`): 20 incident lifecycles through the
real webhook endpoint while `serve` (and on PostgreSQL two `worker` processes) are killed
with SIGKILL three times and Jira answers 429, 503, timeouts and lost answers, with Cloud's
search index lagging 5 s. Afterwards: one issue per incident, each comment once, the right
priority and status, nothing failed. The long run's figures are in the README."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


@pytest.mark.timeout(600)
def test_the_short_soak_keeps_every_promise(database_url: str) -> None:
    store = "postgres" if database_url.startswith("postgresql") else "sqlite"
    # the soak makes (and drops) a database of its own: `database_url` only says which store
    run = subprocess.run([sys.executable, str(SOAK), "--quick", "--store", store, "--seed", "20261202"],
                         capture_output=True, text=True, timeout=560)
    report = run.stdout[run.stdout.find("| soak"):]
    assert run.returncode == 0, f"{report}\n{run.stderr[-3000:]}"
    assert "| duplicate issues | 0 |" in report and "| failed | 0 |" in report
