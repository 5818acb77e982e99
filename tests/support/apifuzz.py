"""schemathesis (its CLI, `st run`) over every route of a running service, for
tests/input/test_openapi_schemathesis.py and bench/fuzz.py.

Two runs: /api and /healthz with the admin token, /webhooks with the integration's secret.
Every check is on but `positive_data_acceptance`: stateless examples name integrations and
incidents that do not exist and Jira connections that go nowhere, so a schema-valid request
is rightly answered 404, 409 or 422 (a 502 only when Jira itself fails, which it does not here)."""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class ApiFuzz:
    returncode: int
    output: str

    @property
    def generated(self) -> int:
        found = re.findall(r"(\d+) generated", self.output)
        return sum(int(n) for n in found)

    @property
    def server_errors(self) -> int:
        return len(re.findall(r"Server error", self.output))


def run_schemathesis(url: str, admin_token: str, webhook_secret: str, examples: int, *, timeout: float = 1800,
                     seed: int | None = None) -> ApiFuzz:
    outputs, code = [], 0
    for headers, selection in (
        ([f"Authorization: Bearer {admin_token}"], ["--exclude-path-regex", "^/webhooks/"]),
        ([f"X-Jira-Sync-Secret: {webhook_secret}"], ["--include-path-regex", "^/webhooks/"]),
    ):
        argv = [sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json", "--checks", "all",
                "--exclude-checks", "positive_data_acceptance", "--max-examples", str(examples), "--workers", "1",
                "--request-timeout", "30", "--suppress-health-check", "all", "--no-color", *selection]
        for h in headers:
            argv += ["-H", h]
        if seed is not None:
            argv += ["--seed", str(seed)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        outputs.append(done.stdout + done.stderr)
        code = code or done.returncode
    return ApiFuzz(code, "\n".join(outputs))
