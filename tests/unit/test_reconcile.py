"""One reconcile (sync/reconcile.py) against the in-process Jira and Flashduty emulators, with
a real SQLite store: incidents are fed as webhooks are, claimed and turned into a `Job` the
way the worker does, and closed with `finish` as the worker does."""
from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jira_sync.bootstrap import Runtime, start_runtime
from jira_sync.crypto import generate_key
from jira_sync.devtools.fake_flashduty import FakeFlashduty
from jira_sync.devtools.fake_jira import FakeJira, Issue
from jira_sync.domain import mapping
from jira_sync.domain.incident import IncidentSnapshot
from jira_sync.domain.trigger import Trigger
from jira_sync.jira.port import IssueRef
from jira_sync.setup.checks import check_integration
from jira_sync.sources.flashduty import parse_webhook
from jira_sync.settings import Settings
from jira_sync.store import claims, intake
from jira_sync.store import incidents as incident_store
from jira_sync.store import integrations as integration_store
from jira_sync.store.incidents import IncidentRecord
from jira_sync.sync.reconcile import Job, LeaseLost, reconcile
from support import ADMIN_TOKEN
from support.configs import FLASHDUTY_URL, integration_config
from support.service import emulators

FLOW = {"triggered": "Open", "processing": "In Progress", "closed": "Closed"}
CREATE, PUT, MOVE, COMMENT = r"/rest/api/\d/issue$", r"/rest/api/\d/issue/\d+$", r"/transitions$", r"/comment$"


class Sync:
    """One integration on the emulators, and the worker's steps one at a time: its store, its
    client cache and integration rows (a `Worker` from the wiring, whose loop never runs)."""

    def __init__(self, runtime: Runtime, jira: FakeJira, flashduty: FakeFlashduty) -> None:
        self.runtime, self.engine, self.jira, self.flashduty = runtime, runtime.engine, jira, flashduty
        self.worker = runtime.worker()
        self.id = 0

    async def integration(self, **overrides: Any) -> int:
        """Saved as the API saves it: checked against Jira first, with what the check learned."""
        self.cfg = integration_config(flashduty={"base_url": FLASHDUTY_URL, "app_key": self.flashduty.app_key},
                                      **overrides)
        jira = self.runtime.jira_client(self.cfg.jira)
        try:
            report = await check_integration(self.cfg, jira)
        finally:
            await jira.aclose()
        assert report.ok, report.errors
        self.meta = report.meta
        async with self.engine.begin() as conn:
            self.id = await integration_store.insert(conn, self.cfg, self.runtime.box, "0" * 64, self.meta)
        self.jira.request_log.clear()  # from here on, only what the sync asks
        return self.id

    async def deliver(self, *payloads: dict[str, Any]) -> None:
        """Webhooks, as the ingest path takes them: parsed, the trigger decides, one transaction."""
        trigger = Trigger(self.cfg)
        batch = []
        for payload in payloads:
            event = parse_webhook(json.dumps(payload).encode())
            activate, outcome = trigger.decide(event)
            batch.append(intake.Incoming(self.id, event, activate, outcome))
        async with self.engine.begin() as conn:
            await intake.accept_events(conn, batch)

    def opened(self, **fields: Any) -> tuple[dict[str, Any], str]:
        """A new incident in Flashduty: its first webhook and its id."""
        new = self.flashduty.open_incident(**fields)
        return new, new["incident"]["incident_id"]

    async def delivered(self, **fields: Any) -> str:
        """A new incident in Flashduty, its first webhook delivered; its id."""
        new, incident_id = self.opened(**fields)
        await self.deliver(new)
        return incident_id

    async def claim(self, owner: str = "w1", lease_seconds: float = 60) -> IncidentRecord:
        [claimed] = await claims.claim(self.engine, owner, 10, lease_seconds)
        return claimed

    async def job(self, claimed: IncidentRecord, owner: str = "w1") -> Job:
        """As `Worker._job` makes it: the integration's cached clients, the claimed row's link."""
        c = self.worker.clients.get(await self.worker.integrations.get(claimed.integration_id))  # type: ignore[arg-type]
        return Job(self.engine, owner, claimed, claimed.link(), c.config, c.meta, c.jira, c.flashduty, c.workflow,
                   c.memory, self.worker.limits)

    async def sync(self, *payloads: dict[str, Any], owner: str = "w1") -> Job:
        """Deliver, claim, reconcile, finish: one turn of the worker for one incident."""
        await self.deliver(*payloads)
        claimed = await self.claim(owner)
        job = await self.job(claimed, owner)
        await reconcile(job)
        assert not await claims.finish(self.engine, claimed, job.link, owner, [])  # nothing newer arrived
        return job

    def issue(self, incident_id: str) -> Issue:
        [issue] = self.jira.issues_with_label(mapping.marker_label(incident_id))
        return issue

    async def stored(self, incident_id: str) -> IncidentRecord:
        async with self.engine.connect() as conn:
            found = await incident_store.get(conn, self.id, incident_id)
        assert found is not None
        return found


@pytest.fixture
async def sync(tmp_path: Any) -> AsyncIterator[Sync]:
    jira, flashduty = FakeJira("cloud"), FakeFlashduty()
    settings = Settings(database_url=f"sqlite:///{tmp_path}/sync.db", secret_key=generate_key(),
                        admin_token=ADMIN_TOKEN, _env_file=None)
    hosts = emulators(jira, flashduty)
    runtime = await start_runtime(settings, jira_transport=hosts, flashduty_transport=hosts)
    s = Sync(runtime, jira, flashduty)
    yield s
    await s.worker.clients.aclose()
    await runtime.aclose()


async def test_create_then_a_priority_update_then_a_multi_step_move(sync: Sync) -> None:
    await sync.integration(project="FLOW", status_map=FLOW)
    new, incident_id = sync.opened(incident_severity="Critical", title="Disk full\non db-01")
    job = await sync.sync(new)
    issue = sync.issue(incident_id)
    assert issue.fields["summary"] == "Disk full on db-01" and issue.priority_id == "1" and issue.status_name == "Open"
    assert job.created_now and job.link.create_state == "created"
    assert (job.link.jira_issue_id, job.link.jira_issue_key, job.link.jira_priority_id) == (issue.id, issue.key, "1")
    assert job.link.jira_status == "Open"  # Triggered -> Open: where a new issue starts
    assert sync.jira.count_requests("POST", CREATE) == 1 and sync.jira.count_requests("POST", MOVE) == 0

    job = await sync.sync(sync.flashduty.set_severity(incident_id, "Info"))
    assert sync.issue(incident_id).priority_id == "4" and job.link.jira_priority_id == "4"  # Info -> Low
    assert sync.jira.count_requests("PUT", PUT) == 1 and sync.jira.count_requests("POST", MOVE) == 0
    assert sync.jira.count_requests("POST", CREATE) == 1

    job = await sync.sync(sync.flashduty.resolve(incident_id))  # Open -> Triage -> In Progress -> Resolved -> Closed
    issue = sync.issue(incident_id)
    assert issue.status_name == "Closed" and issue.resolution and issue.resolution["name"] == "Done"
    assert sync.jira.count_requests("POST", MOVE) == 4 and sync.jira.count_requests("PUT", PUT) == 1
    stored = await sync.stored(incident_id)
    assert (stored.state, stored.jira_status, stored.jira_priority_id, stored.create_state) == ("idle", "Closed", "4", "created")


async def test_a_lost_create_is_adopted_not_repeated(sync: Sync) -> None:
    await sync.integration()
    incident_id = await sync.delivered(incident_severity="Critical")
    first = await sync.claim()
    # the first attempt: "creating" committed, the create landed in Jira, its answer was lost
    assert await claims.record_jira(sync.engine, first.id, "w1", create_state="creating")
    lost = await (await sync.job(first)).jira.create_issue(
        mapping.issue_draft(sync.cfg, sync.meta, IncidentSnapshot.from_json(first.snapshot)))
    await claims.fail(sync.engine, first, first.link(), "w1", "no answer", [], retry_at=0.0)

    job = await sync.sync(sync.flashduty.set_severity(incident_id, "Info"), owner="w2")  # changed meanwhile
    assert not job.created_now and job.link.jira_issue_id == lost.id
    assert sync.jira.count_requests("POST", CREATE) == 1  # the lost one only
    issue = sync.issue(incident_id)  # exactly one issue carries the marker
    assert issue.id == lost.id and issue.priority_id == "4"  # the adopted issue got the newer priority
    assert (await sync.stored(incident_id)).create_state == "created"


async def test_the_issue_link_comment_survives_a_death_right_after_the_create(sync: Sync, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The process dies after the issue's id is recorded and before the incident is told its key:
    the next reconcile (another worker, the issue no longer "created now") still tells it, once.
    The soak found it: the comment was owed only while the creating reconcile lived."""
    from jira_sync.store import workers
    from jira_sync.sync import inbound

    await sync.integration()
    incident_id = await sync.delivered(incident_severity="Critical")
    first = await sync.claim("w1")

    async def killed(job, snap):  # type: ignore[no-untyped-def]
        raise SystemExit("kill -9")
    with monkeypatch.context() as m:
        m.setattr(inbound, "post_issue_link", killed)
        with pytest.raises(SystemExit):
            await reconcile(await sync.job(first, "w1"))
    assert await workers.release(sync.engine, ["w1"]) == 1  # as the dead worker's claims are freed

    job = await sync.sync(owner="w2")
    issue = sync.issue(incident_id)
    assert not job.created_now and sync.jira.count_requests("POST", CREATE) == 1
    said = [e for e in sync.flashduty.timeline(incident_id) if issue.key in json.dumps(e)]
    assert len(said) == 1, said
    await sync.sync(sync.flashduty.set_severity(incident_id, "Info"), owner="w3")  # and never again
    assert len([e for e in sync.flashduty.timeline(incident_id) if issue.key in json.dumps(e)]) == 1


async def test_comments_are_posted_once_each(sync: Sync) -> None:
    await sync.integration()
    new, incident_id = sync.opened()
    fd = sync.flashduty
    first = fd.add_comment(incident_id, "first look: disk", author="Alice")
    second = fd.add_comment(incident_id, "freed 20 GB", author="Bob")
    job = await sync.sync(new, first, second)
    texts = [c.text for c in sync.issue(incident_id).comments]
    assert len(texts) == 2 and "first look: disk" in texts[0] and "Alice" in texts[0] and "Bob" in texts[1]
    assert set((await claims.comment_states(sync.engine, job.row_id)).values()) == {"posted"}

    await sync.sync(second, fd.add_comment(incident_id, "all good", author="Alice"))  # a redelivery and a new one
    assert sync.jira.count_requests("POST", COMMENT) == 3 and len(sync.issue(incident_id).comments) == 3

    # answers lost after Jira stored the comments: the rows still say "posting"
    for source_id in await claims.comment_states(sync.engine, job.row_id):
        await claims.mark_comment(sync.engine, job.row_id, source_id, "posting")
    await sync.sync(fd.add_comment(incident_id, "closing", author="Bob"))
    assert sync.jira.count_requests("POST", COMMENT) == 4  # found by their ref, only the new one posted
    assert sync.jira.count_requests("GET", COMMENT) == 1
    assert len(sync.issue(incident_id).comments) == 4
    assert set((await claims.comment_states(sync.engine, job.row_id)).values()) == {"posted"}


async def test_a_lease_lost_before_the_create_writes_nothing(sync: Sync) -> None:
    await sync.integration()
    incident_id = await sync.delivered()
    mine = await sync.claim("w1", lease_seconds=-1)  # run out at once
    await sync.claim("w2")  # another worker takes the incident over
    with pytest.raises(LeaseLost):
        await reconcile(await sync.job(mine))
    assert sync.jira.request_log == []  # not a single request to Jira
    stored = await sync.stored(incident_id)
    assert (stored.lease_owner, stored.create_state, stored.jira_issue_id) == ("w2", None, None)


class LeaseRunsOutDuringCreate:
    """The Jira port, but the lease runs out (another worker claims) while the create is answered."""

    def __init__(self, inner: Any, sync: Sync) -> None:
        self._inner, self._sync = inner, sync
        self.taken: IncidentRecord | None = None  # the row as the other worker claimed it

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def create_issue(self, draft: Any) -> IssueRef:
        ref = await self._inner.create_issue(draft)
        self.taken = await self._sync.claim("w2")
        return ref


async def test_a_lease_lost_during_the_create_writes_nothing_more(sync: Sync) -> None:
    await sync.integration()
    incident_id = await sync.delivered(incident_severity="Critical")
    job = await sync.job(await sync.claim("w1", lease_seconds=-1))
    job.jira = late = LeaseRunsOutDuringCreate(job.jira, sync)
    with pytest.raises(LeaseLost):
        await reconcile(job)
    assert [(m, p) for m, p, _ in sync.jira.request_log] == [("POST", "/rest/api/3/issue")]  # no move, no comment
    stored = await sync.stored(incident_id)
    assert (stored.lease_owner, stored.create_state, stored.jira_issue_id) == ("w2", "creating", None)
    assert stored.synced_seq == 0

    assert late.taken is not None
    taken_over = await sync.job(late.taken, "w2")
    await reconcile(taken_over)  # the new owner looks for the marker first
    assert sync.jira.count_requests("POST", CREATE) == 1 and taken_over.link.jira_issue_id == sync.issue(incident_id).id
