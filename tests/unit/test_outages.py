"""What a failed reconcile means for its incident: back off, wait for the site, or fail."""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from jira_sync.crypto import generate_key
from jira_sync.jira.port import JiraAuthError, JiraConnectError, JiraPermanentError, JiraRetryableError
from jira_sync.settings import Settings
from jira_sync.store.incidents import IncidentRecord
from jira_sync.store.integrations import IntegrationRow
from jira_sync.store.sites import CREDENTIALS, OUTAGE, RATE_LIMITED, SiteRow
from jira_sync.sync.outages import Outages

HOUR = 3600.0
JIRA = {"platform": "cloud", "url": "https://acme.atlassian.net", "username": "bot@acme.com"}
ROW = IncidentRecord(
    id=1, integration_id=1, incident_id="inc", snapshot={}, snapshot_time=0, title="", severity="", progress="",
    activated=True, change_seq=1, synced_seq=0, comment_seq=0, comment_synced_seq=0, state="pending",
    pending_since=0.0, due_at=0.0, lease_owner="w", lease_until=0.0, attempts=0, last_error=None,
    failing_since=None, create_state=None, jira_issue_id=None, jira_issue_key=None, jira_status_id=None,
    jira_status=None, jira_priority_id=None, create_floor=None, create_sent_at=None, jira_unverified=False,
    last_synced_at=None, created_at=0.0, updated_at=0.0,
)
INTEGRATION = IntegrationRow(1, "ops", True, {"jira": JIRA}, {"priorities": []}, "", None, "", 0, 0.0, 0.0)


class FakeSites:
    def __init__(self) -> None:
        self.rows: dict[str, SiteRow] = {}
        self.refused: list[tuple[int, bool]] = []

    async def credentials_refused(self, jira: Any, integration_id: int, *, worked_before: bool) -> SiteRow:
        self.refused.append((integration_id, worked_before))
        now = time.time()
        return SiteRow("k", "u", "bot@acme.com", 1, CREDENTIALS, "The API token was refused", now, None, None, 0, now)


@pytest.fixture
def outages() -> Outages:
    settings = Settings(secret_key=generate_key(), admin_token="x" * 16, _env_file=None)  # type: ignore[call-arg]
    o = Outages(FakeSites(), None, None, settings)  # type: ignore[arg-type]
    o.suspect = lambda integration: None  # type: ignore[method-assign]  # no probe here
    return o


async def test_a_transient_failure_backs_off_and_remembers_when_failing_began(outages: Outages) -> None:
    fate = await outages.failed(ROW, INTEGRATION, JiraRetryableError("boom", status=500))
    assert fate.retry_at is not None and fate.retry_at - time.time() <= 1.0 and fate.attempted
    began = fate.failing_since
    later = dataclasses.replace(ROW, attempts=30, failing_since=began)
    fate = await outages.failed(later, INTEGRATION, JiraConnectError("down", reason="unreachable"))
    assert fate.failing_since == began and fate.retry_at - time.time() == pytest.approx(HOUR, abs=HOUR / 2 + 1)


async def test_transient_failures_give_up_after_give_up_hours_not_a_count(outages: Outages) -> None:
    almost = dataclasses.replace(ROW, attempts=500, failing_since=time.time() - 24 * HOUR + 60)
    fate = await outages.failed(almost, INTEGRATION, JiraRetryableError("boom", status=503))
    assert fate.retry_at is not None and fate.retry_at <= almost.failing_since + 24 * HOUR  # one last try, on time
    over = dataclasses.replace(almost, failing_since=time.time() - 24 * HOUR - 1)
    fate = await outages.failed(over, INTEGRATION, JiraRetryableError("boom", status=503))
    assert fate.retry_at is None and fate.error == "boom (HTTP 503) (gave up after retrying for 24 h)"


@pytest.mark.parametrize("error", [
    JiraPermanentError("Customer is required", status=400),
    JiraAuthError("forbidden", reason="forbidden", status=403),
    JiraAuthError("CAPTCHA", reason="captcha_required", status=403),
])
async def test_permanent_errors_fail_at_once(outages: Outages, error: Exception) -> None:
    fate = await outages.failed(ROW, INTEGRATION, error)
    assert fate.retry_at is None and fate.pause is None


async def test_refused_credentials_pause_the_account_and_the_incident_waits(outages: Outages) -> None:
    fate = await outages.failed(ROW, INTEGRATION, JiraAuthError("401", reason="bad_credentials", status=401))
    assert outages.sites.refused == [(1, True)]  # type: ignore[attr-defined]  # a passing check stored metadata
    assert fate.pause == "k" and fate.retry_at is not None and fate.attempted
    assert fate.error.startswith("Waiting for Jira: The API token was refused")


def test_an_incident_waits_for_an_outage_an_hour_at_most_and_for_a_rate_limit_until_it_ends(outages: Outages) -> None:
    now = time.time()
    outage = SiteRow("site", "site", None, 1, OUTAGE, "Cannot reach it", now, now + 2, None, 0, now)
    fate = outages.waiting(ROW, outage, now)
    assert fate.retry_at == now + HOUR and fate.pause == "site" and not fate.attempted and fate.failing_since == now
    limited = dataclasses.replace(outage, reason=RATE_LIMITED, resume_at=now + 90)
    assert now + 90 <= outages.waiting(ROW, limited, now).retry_at <= now + 91  # type: ignore[operator]
    old = dataclasses.replace(ROW, failing_since=now - 24 * HOUR)
    fate = outages.waiting(old, outage, now)
    assert fate.retry_at is None and "gave up after waiting 24 h" in fate.error
