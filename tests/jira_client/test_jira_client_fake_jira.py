"""JiraClient against the Jira emulator over real loopback HTTP, Cloud and Server flavours.

These check the emulator's final state through the port (what a person would see in Jira),
not the requests made; the exact requests are the contract tests' job.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, AsyncIterator

import pytest

from jira_sync.domain.integration import JiraConnection
from jira_sync.jira.client import JiraClient
from jira_sync.jira.port import (
    IssueDraft,
    JiraAuthError,
    JiraError,
    JiraPermanentError,
    JiraRetryableError,
)
from jira_sync.jira.ratelimit import SiteGate, retry_delay
from jira_sync.jira.workflow import move_to_status

fake_jira = pytest.importorskip("jira_sync.devtools.fake_jira", reason="the Jira emulator is not there yet")
FakeJira = getattr(fake_jira, "FakeJira", None)
FakeJiraServer = getattr(fake_jira, "FakeJiraServer", None)
if FakeJira is None or FakeJiraServer is None:
    pytest.skip("the Jira emulator does not export FakeJira/FakeJiraServer yet", allow_module_level=True)

TASK = "10001"


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Site:
    def __init__(self, fake: Any, base_url: str, flavour: str) -> None:
        self.fake, self.base_url, self.flavour = fake, base_url, flavour
        self.clients: list[JiraClient] = []

    def conn(self, **kw: Any) -> JiraConnection:
        if self.flavour == "cloud":
            defaults = dict(platform="cloud", username="admin@example.com", secret="cloud-token")
        else:
            defaults = dict(platform="server", username="admin", secret="secret")
        return JiraConnection(url=self.base_url, **{**defaults, **kw})

    def client(self, **kw: Any) -> JiraClient:
        gate = kw.pop("gate", None) or SiteGate(8)
        timeout = kw.pop("timeout", 5.0)
        client = JiraClient(self.conn(**kw), gate=gate, timeout=timeout)
        self.clients.append(client)
        return client


async def _start(flavour: str, version: str | None = None) -> tuple[Any, Any, str]:
    fake = FakeJira(flavour=flavour, version=version) if version else FakeJira(flavour=flavour)
    server = FakeJiraServer(fake)
    base_url = await _maybe(server.start())
    return fake, server, str(base_url).rstrip("/")


async def _stop(server: Any) -> None:
    for name in ("stop", "close", "aclose", "shutdown"):
        if hasattr(server, name):
            await _maybe(getattr(server, name)())
            return


@pytest.fixture(params=["cloud", "server"])
async def site(request) -> AsyncIterator[Site]:
    fake, server, base_url = await _start(request.param)
    s = Site(fake, base_url, request.param)
    yield s
    for client in s.clients:
        await client.aclose()
    await _stop(server)


def draft(project: str = "OPS", label: str = "fd-inc-1", **kw: Any) -> IssueDraft:
    return IssueDraft(
        project_key=project, issue_type_id=TASK, summary="Disk full on db-1",
        description_markdown="**Disk** is full.\n\n[Open in Flashduty](https://flashcat.cloud/incident/1)",
        labels=("flashduty", label), **kw)


async def test_identity(site: Site):
    client = site.client()
    info = await client.server_info()
    assert (info.deployment_type == "Cloud") == (site.flavour == "cloud")
    me = await client.myself()
    assert me.display_name
    assert [p.key for p in await client.projects("OPS")] == ["OPS"]
    assert (await client.project("OPS")).key == "OPS"
    assert TASK in [t.id for t in await client.issue_types("OPS")]
    perms = await client.my_permissions("OPS", ["CREATE_ISSUES", "ADD_COMMENTS"])
    assert perms == {"CREATE_ISSUES": True, "ADD_COMMENTS": True}


async def test_create_fields_of_ops(site: Site):
    fields = {f.id: f for f in await site.client().create_fields("OPS", TASK)}
    assert fields["customfield_10050"].text_kind == "textfield"
    assert fields["customfield_10051"].text_kind == "textarea"
    assert {p["id"] for p in fields["priority"].allowed_values} == {"1", "2", "3", "4", "5"}


async def test_old_server_uses_old_createmeta():
    fake, server, base_url = await _start("server", "8.3.0")
    client = Site(fake, base_url, "server").client()
    try:
        fields = {f.id: f for f in await client.create_fields("OPS", TASK)}
        assert fields["customfield_10051"].text_kind == "textarea"
        assert TASK in [t.id for t in await client.issue_types("OPS")]
    finally:
        await client.aclose()
        await _stop(server)


async def test_pat_on_data_center():
    fake, server, base_url = await _start("server", "8.20.0")
    client = Site(fake, base_url, "server").client(auth="pat", username="", secret="pat-token")
    try:
        assert (await client.myself()).name == "admin"
    finally:
        await client.aclose()
        await _stop(server)


async def test_create_find_update_comment_in_ops(site: Site):
    client = site.client()
    ref = await client.create_issue(draft(
        priority_id="2",
        text_fields={"customfield_10050": ("inc-1", "textfield"),
                     "customfield_10051": ("Details\nhttps://flashcat.cloud/incident/1", "textarea")}))
    assert ref.key.startswith("OPS-")
    assert await client.find_issue_by_label("OPS", "fd-inc-1") == ref
    assert await client.find_issue_by_label("OPS", "fd-inc-404") is None
    state = await client.get_issue(ref.id)
    assert (state.priority_id, state.status_category) == ("2", "new")
    await client.set_priority(ref.id, "1")
    assert (await client.get_issue(ref.key)).priority_id == "1"
    made = await client.add_comment(ref.id, "Acknowledged by **Ann**", "fd-ev-1")
    await client.add_comment(ref.id, "Closed", "fd-ev-2")
    comments = await client.comments(ref.id)
    assert [c.ref for c in comments] == ["fd-ev-1", "fd-ev-2"] and comments[0].id == made.id
    assert "Acknowledged by" in comments[0].text and "Ann" in comments[0].text
    # What Jira stored: ADF on Cloud (the emulator validates it against the ADF schema), wiki on Server.
    [issue] = site.fake.issues_with_label("fd-inc-1")
    rich = (dict if site.flavour == "cloud" else str)
    assert isinstance(issue.fields["description"], rich) and isinstance(issue.fields["customfield_10051"], rich)
    assert issue.fields["customfield_10050"] == "inc-1"
    assert "Open in Flashduty" in issue.description_text


async def test_priority_off_screen_is_a_permanent_error(site: Site):
    with pytest.raises(JiraPermanentError) as err:
        await site.client().create_issue(draft("NOPRI", priority_id="2"))
    assert "priority" in err.value.errors and "priority" in err.value.message


async def test_required_field_is_named(site: Site):
    client = site.client()
    with pytest.raises(JiraPermanentError) as err:
        await client.create_issue(draft("REQ"))
    assert "customfield_10060" in err.value.errors and "customfield_10060" in err.value.message
    ref = await client.create_issue(draft("REQ", text_fields={"customfield_10060": ("ACME", "textfield")}))
    assert ref.key.startswith("REQ-")


async def test_multi_step_workflow_with_resolution(site: Site):
    client = site.client()
    ref = await client.create_issue(draft("FLOW"))
    statuses = await client.statuses("FLOW", TASK)
    assert await move_to_status(client, ref.id, "Closed", statuses=statuses) == \
        ["Start Triage", "Start Progress", "Resolve", "Close"]
    assert (await client.get_issue(ref.id)).status_name == "Closed"
    assert await move_to_status(client, ref.id, "in progress", statuses=statuses) == \
        ["Reopen", "Start Triage", "Start Progress"]
    assert await move_to_status(client, ref.id, "In Progress", statuses=statuses) == []


async def test_chinese_statuses(site: Site):
    client = site.client()
    ref = await client.create_issue(draft("CN"))
    statuses = await client.statuses("CN", TASK)
    assert {s.name for s in statuses} == {"待办", "处理中", "完成"}
    assert await move_to_status(client, ref.id, "完成", statuses=statuses) == ["标记完成"]
    state = await client.get_issue(ref.id)
    assert (state.status_name, state.status_category) == ("完成", "done")


async def test_bad_credentials(site: Site):
    with pytest.raises(JiraAuthError) as err:
        await site.client(secret="wrong").myself()
    assert err.value.reason == "bad_credentials"


async def test_captcha_after_failed_logins():
    fake, server, base_url = await _start("server", "8.20.0")
    s = Site(fake, base_url, "server")
    try:
        for _ in range(3):
            with pytest.raises(JiraAuthError) as err:
                await s.client(secret="wrong").myself()
            assert err.value.reason == "bad_credentials"
        # Now even the right password is refused until someone logs in through the browser.
        with pytest.raises(JiraAuthError) as err:
            await s.client().myself()
        assert err.value.reason == "captcha_required" and "login.jsp" in err.value.message
    finally:
        for client in s.clients:
            await client.aclose()
        await _stop(server)


async def test_captcha_fault(site: Site):
    if site.flavour == "cloud":
        pytest.skip("CAPTCHA after failed logins is a Server/DC behaviour")
    site.fake.faults.add(method="GET", path=r".*/myself", kind="captcha", times=1)
    with pytest.raises(JiraAuthError) as err:
        await site.client().myself()
    assert err.value.reason == "captcha_required"


async def _with_retries(call, gate: SiteGate) -> tuple[Any, int]:
    attempts = 0
    while True:
        attempts += 1
        try:
            return await call(), attempts
        except JiraError as exc:
            delay = retry_delay(exc, attempts, base=0.05)
            if delay is None:
                raise
            await asyncio.sleep(0 if gate.paused_for else delay)  # the gate holds the next call


async def test_429_pauses_the_site_then_succeeds(site: Site):
    gate = SiteGate(8)
    client = site.client(gate=gate)
    ref = await client.create_issue(draft())
    site.fake.faults.add(method="POST", path=r".*/comment", kind="429", times=1, retry_after=1)
    with pytest.raises(JiraRetryableError) as err:
        await client.add_comment(ref.id, "hello", "fd-ev-9")
    assert err.value.retry_after == 1 and not err.value.outcome_unknown
    assert gate.paused_for > 0.5
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.add_comment(ref.id, "hello", "fd-ev-9")
    assert loop.time() - started >= 0.5  # waited out Retry-After before sending
    assert [c.ref for c in await client.comments(ref.id)] == ["fd-ev-9"]


async def test_503_then_retry_loop(site: Site):
    gate = SiteGate(8)
    client = site.client(gate=gate)
    site.fake.faults.add(method="GET", path=r".*/project/OPS$", kind="503", times=2)
    project, attempts = await _with_retries(lambda: client.project("OPS"), gate)
    assert project.key == "OPS" and attempts == 3


async def test_lost_create_answer_then_look_before_write(site: Site):
    client = site.client()
    site.fake.faults.add(method="POST", path=r".*/issue$", kind="lost_response", times=1)
    with pytest.raises(JiraRetryableError) as err:
        await client.create_issue(draft(label="fd-inc-lost"))
    assert err.value.outcome_unknown
    # The write happened: searching for the marker label finds it instead of creating a twin.
    found = await client.find_issue_by_label("OPS", "fd-inc-lost")
    assert [i.id for i in site.fake.issues_with_label("fd-inc-lost")] == [found.id]


async def test_lost_comment_answer_is_found_by_ref(site: Site):
    client = site.client()
    ref = await client.create_issue(draft())
    site.fake.faults.add(method="POST", path=r".*/comment$", kind="lost_response", times=1)
    with pytest.raises(JiraRetryableError) as err:
        await client.add_comment(ref.id, "once", "fd-ev-once")
    assert err.value.outcome_unknown
    assert [c.ref for c in await client.comments(ref.id)] == ["fd-ev-once"]


async def test_timeout_on_transition_is_outcome_unknown(site: Site):
    client = site.client(timeout=0.2)
    ref = await client.create_issue(draft())
    site.fake.faults.add(method="POST", path=r".*/transitions$", kind="timeout", delay=0.6)
    with pytest.raises(JiraRetryableError) as err:
        await client.transition(ref.id, "21")
    assert err.value.outcome_unknown
    await asyncio.sleep(0.5)  # let the emulator finish the slow answer before it stops
