"""schemathesis against the app's own OpenAPI document, every route: never a 5xx, and every
answer conforms to what the document declares (status codes, content types, response bodies,
the Allow header of a 405). CI runs a few examples per operation (JIRA_SYNC_API_EXAMPLES,
default 10); `bench/fuzz.py` runs the same with more (tests/support/apifuzz.py)."""
from __future__ import annotations

import os

from input.conftest import Intake
from support import ADMIN_TOKEN
from support.apifuzz import run_schemathesis

EXAMPLES = int(os.environ.get("JIRA_SYNC_API_EXAMPLES", "10"))


def test_every_route_answers_as_its_openapi_document_says(intake: Intake):
    result = run_schemathesis(intake.url, ADMIN_TOKEN, intake.secret, EXAMPLES, seed=1)
    assert result.returncode == 0, result.output[-6000:]
    assert result.generated > 0
    assert intake.log.tracebacks() == []
    assert intake.api.http.get("/healthz").json()["status"] == "ok"
