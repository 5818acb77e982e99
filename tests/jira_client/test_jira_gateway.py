"""Cloud's scoped API tokens and service accounts: API calls through the gateway, found by trying.

Against the Jira emulator over real HTTP: it refuses scoped tokens at the site URL (401) and
serves the gateway `/ex/jira/{cloudId}` on its own host, so the gateway base is its URL.
"""
from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer
from jira_sync.domain.integration import JiraConnection
from jira_sync.jira.client import JiraClient
from jira_sync.jira.port import IssueDraft, JiraAuthError
from jira_sync.setup.lookups import check_connection

SVC = ("svc-jira-sync@serviceaccount.atlassian.com", "svc-token")
READONLY = ("svc-readonly@serviceaccount.atlassian.com", "svc-readonly-token")
SCOPES = ["read:jira-work", "write:jira-work", "read:jira-user"]


class Cloud:
    def __init__(self, fake: FakeJira, url: str) -> None:
        self.fake, self.url = fake, url
        self.clients: list[JiraClient] = []

    def client(self, username: str, secret: str) -> JiraClient:
        conn = JiraConnection(platform="cloud", url=self.url, username=username, secret=secret)
        client = JiraClient(conn, timeout=5.0, gateway_url=self.url)  # the emulator is the gateway too
        self.clients.append(client)
        return client

    def paths(self) -> list[str]:
        with self.fake.lock:
            return [path for _, path, _ in self.fake.request_log]


@pytest.fixture
async def cloud() -> AsyncIterator[Cloud]:
    fake = FakeJira("cloud")
    server = FakeJiraServer(fake)
    c = Cloud(fake, server.start().rstrip("/"))
    yield c
    for client in c.clients:
        await client.aclose()
    server.stop()


def draft(label: str) -> IssueDraft:
    return IssueDraft(project_key="OPS", issue_type_id="10001", summary="Disk full", description_markdown="x",
                      labels=("flashduty", label))


async def _lifecycle(client: JiraClient) -> Any:
    ref = await client.create_issue(draft("flashduty-gw"))
    await client.set_priority(ref.id, "1")
    moves = {t.to_status_name: t.id for t in await client.transitions(ref.id)}
    await client.transition(ref.id, moves["In Progress"])
    await client.add_comment(ref.id, "**hi**", "ref-1")
    return ref


async def test_a_service_account_goes_through_the_gateway_at_once(cloud: Cloud) -> None:
    client = cloud.client(*SVC)
    result = await check_connection(client._http.conn, client)
    assert result.ok and result.api_route == "gateway", result
    assert f"/ex/jira/{cloud.fake.cloud_id}" in result.message and cloud.url in result.message
    ref = await _lifecycle(client)
    issue = cloud.fake.issue(ref.key)
    assert issue.reporter.email == SVC[0] and issue.fields["priority"]["id"] == "1"
    rest = [p for p in cloud.paths() if p.startswith("/rest/")]
    assert rest == [], "a service account's token is never sent to the site's REST API"


async def test_a_scoped_token_is_found_by_trying_and_then_stays_on_the_gateway(cloud: Cloud) -> None:
    cloud.fake.set_token("alice@example.com", "alice-scoped", scopes=SCOPES)
    client = cloud.client("alice@example.com", "alice-scoped")
    await _lifecycle(client)
    site_calls = [p for p in cloud.paths() if p.startswith("/rest/api/")]
    assert len(site_calls) == 1, site_calls  # the one 401 that showed the token is scoped
    assert client.route_note() and "scoped API token" in client.route_note()


async def test_a_classic_token_stays_on_the_site(cloud: Cloud) -> None:
    client = cloud.client("admin@example.com", "cloud-token")
    result = await check_connection(client._http.conn, client)
    assert result.ok and result.api_route == "site" and "gateway" not in result.message
    await _lifecycle(client)
    assert not [p for p in cloud.paths() if p.startswith("/ex/") or p == "/_edge/tenant_info"]


@pytest.mark.parametrize("who", [SVC, ("alice@example.com", "alice-scoped"), ("admin@example.com", "cloud-token")])
async def test_an_expired_token_reads_the_same_on_either_route(cloud: Cloud, who: tuple[str, str]) -> None:
    if who[1] == "alice-scoped":
        cloud.fake.set_token(who[0], who[1], scopes=SCOPES)
    client = cloud.client(*who)
    assert (await check_connection(client._http.conn, client)).ok
    cloud.fake.expire_token(who[0])
    after = cloud.client(*who)  # a new client, as after a restart: nothing remembered
    result = await check_connection(after._http.conn, after, worked_before=True)
    assert (result.ok, result.problem) == (False, "token_expired_or_revoked")
    with pytest.raises(JiraAuthError) as refused:
        await client.create_issue(draft("flashduty-expired"))  # the client already on its route
    assert refused.value.reason == "bad_credentials" and "expire" in refused.value.message


async def test_a_missing_scope_is_named(cloud: Cloud) -> None:
    client = cloud.client(*READONLY)
    assert (await client.myself()).display_name
    with pytest.raises(JiraAuthError) as refused:
        await client.create_issue(draft("flashduty-ro"))
    assert refused.value.reason == "forbidden" and "write:jira-work" in refused.value.message
