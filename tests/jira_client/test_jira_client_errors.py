"""Status codes and transport failures -> the port's errors; exchanges never carry secrets."""
from __future__ import annotations

import base64
import datetime as dt
import ssl

import httpx
import pytest

from jira_sync.jira.client_errors import Site, error_for_response, error_for_transport, parse_retry_after
from jira_sync.jira.port import (
    Exchange,
    IssueDraft,
    JiraAuthError,
    JiraConnectError,
    JiraNotFound,
    JiraPermanentError,
    JiraRetryableError,
)
from jira_sync.jira.ratelimit import SiteGate

from .support import CLOUD_SECRET, PAT_SECRET, SERVER_SECRET, cloud_conn, pat_conn, server_conn

CLOUD = Site("https://acme.atlassian.net", cloud=True, username="me@example.com")
SERVER = Site("https://jira.example.com", cloud=False, username="admin")
REQ_400 = {"errorMessages": ["Fix these."], "errors": {"customfield_10060": "Customer is required."}}
CAPTCHA = {"X-Authentication-Denied-Reason": "CAPTCHA_CHALLENGE; login-url=https://jira.example.com/login.jsp"}

# status, headers, body, site, write -> class, reason, retry_after, outcome_unknown, words in message
TABLE = [
    (201, {}, {}, CLOUD, True, None, None, None, False, []),
    (400, {}, REQ_400, SERVER, True, JiraPermanentError, None, None, False,
     ["Fix these.", "customfield_10060: Customer is required."]),
    (401, {}, None, CLOUD, False, JiraAuthError, "bad_credentials", None, False, ["API token", "expire", "December 2024"]),
    (401, {}, None, SERVER, False, JiraAuthError, "bad_credentials", None, False, ["user name and password"]),
    (403, CAPTCHA, None, SERVER, False, JiraAuthError, "captcha_required", None, False, ["CAPTCHA", "browser", "admin"]),
    (401, CAPTCHA, None, SERVER, False, JiraAuthError, "captcha_required", None, False, ["CAPTCHA"]),
    (403, {}, {"errorMessages": ["You cannot browse OPS."]}, CLOUD, False, JiraAuthError, "forbidden", None, False,
     ["You cannot browse OPS."]),
    (404, {}, {"errorMessages": ["Issue does not exist"]}, CLOUD, False, JiraNotFound, None, None, False,
     ["Issue does not exist"]),
    (410, {}, {"errorMessages": ["The requested API has been removed."]}, CLOUD, False, JiraNotFound, None, None,
     False, ["removed"]),
    (429, {"Retry-After": "17"}, None, CLOUD, True, JiraRetryableError, None, 17.0, False, ["rate limited"]),
    (503, {"Retry-After": "5"}, None, CLOUD, False, JiraRetryableError, None, 5.0, False, ["unavailable"]),
    (503, {}, None, CLOUD, True, JiraRetryableError, None, None, True, []),
    (500, {}, "boom", CLOUD, True, JiraRetryableError, None, None, True, ["500 Internal Server Error"]),
    (502, {}, None, SERVER, False, JiraRetryableError, None, None, False, ["502"]),
    (302, {"Location": "https://sso.example.com/login"}, None, SERVER, False, JiraConnectError, "not_jira", None, False,
     ["sso.example.com"]),
    (405, {}, None, CLOUD, False, JiraPermanentError, None, None, False, ["405"]),
]


@pytest.mark.parametrize("status, headers, body, site, write, cls, reason, retry_after, unknown, words", TABLE)
def test_error_mapping(status, headers, body, site, write, cls, reason, retry_after, unknown, words):
    error = error_for_response(status, httpx.Headers(headers), body, site=site, method="POST",
                               path="/rest/api/3/issue", write=write)
    if cls is None:
        assert error is None
        return
    assert type(error) is cls and error.status == status
    assert getattr(error, "reason", None) == reason
    assert error.retry_after == retry_after and error.outcome_unknown is unknown
    for word in words:
        assert word in error.message


def test_400_keeps_jira_parts_as_attributes():
    error = error_for_response(400, httpx.Headers(), REQ_400, site=CLOUD, method="POST", path="/x", write=True)
    assert error.error_messages == ["Fix these."]
    assert error.errors == {"customfield_10060": "Customer is required."}
    assert not error.retryable


def test_retry_after_http_date():
    now = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def _request() -> httpx.Request:
    return httpx.Request("POST", "https://acme.atlassian.net/rest/api/3/issue")


def _tls_failure() -> httpx.ConnectError:
    try:
        raise ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer certificate")
    except ssl.SSLError:
        try:
            raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]", request=_request())
        except httpx.ConnectError as exc:
            return exc


@pytest.mark.parametrize(
    "exc, write, cls, reason, unknown",
    [
        (httpx.ConnectError("Name or service not known", request=_request()), True, JiraConnectError, "unreachable", False),
        (_tls_failure(), True, JiraConnectError, "tls", False),
        (httpx.ConnectTimeout("timed out", request=_request()), True, JiraConnectError, "timeout", False),
        (httpx.PoolTimeout("pool", request=_request()), True, JiraRetryableError, None, False),
        (httpx.ReadTimeout("timed out", request=_request()), True, JiraRetryableError, None, True),
        (httpx.ReadTimeout("timed out", request=_request()), False, JiraRetryableError, None, False),
        (httpx.RemoteProtocolError("Server disconnected", request=_request()), True, JiraRetryableError, None, True),
        (httpx.ReadError("Connection reset by peer", request=_request()), False, JiraRetryableError, None, False),
    ],
)
def test_transport_error_mapping(exc, write, cls, reason, unknown):
    error = error_for_transport(exc, site=CLOUD, method="POST", path="/rest/api/3/issue", write=write)
    assert type(error) is cls and error.retryable
    assert getattr(error, "reason", None) == reason and error.outcome_unknown is unknown


# ---------------------------------------------------------------- through the client
DRAFT = IssueDraft(project_key="OPS", issue_type_id="10001", summary="s", description_markdown="d")


async def test_lost_create_answer_is_outcome_unknown(script, make_client):
    def drop(request):
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    script.on("POST", "/rest/api/3/issue", respond=drop)
    with pytest.raises(JiraRetryableError) as err:
        await make_client(cloud_conn()).create_issue(DRAFT)
    assert err.value.outcome_unknown


async def test_read_timeout_on_get_is_plain_retryable(script, make_client):
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)
    script.on("GET", "/rest/api/3/issue/1", respond=slow)
    with pytest.raises(JiraRetryableError) as err:
        await make_client(cloud_conn()).get_issue("1")
    assert not err.value.outcome_unknown


async def test_set_priority_5xx_is_not_outcome_unknown(script, make_client):
    script.on("PUT", "/rest/api/3/issue/1", status=500, text="oops")
    with pytest.raises(JiraRetryableError) as err:
        await make_client(cloud_conn()).set_priority("1", "2")
    assert not err.value.outcome_unknown  # a PUT of the same value is idempotent


async def test_429_pauses_the_whole_site(script, make_client):
    gate = SiteGate(8)
    script.on("POST", "/rest/api/3/issue/1/comment", status=429, headers={"Retry-After": "30"})
    with pytest.raises(JiraRetryableError) as err:
        await make_client(cloud_conn(), gate=gate).add_comment("1", "hi", "r1")
    assert err.value.retry_after == 30.0 and not err.value.outcome_unknown
    assert 29 < gate.paused_for <= 30


# ---------------------------------------------------------------- exchanges
@pytest.mark.parametrize(
    "conn, secret", [(cloud_conn(), CLOUD_SECRET), (server_conn(), SERVER_SECRET), (pat_conn(), PAT_SECRET)],
    ids=["cloud", "server", "pat"])
async def test_exchanges_are_recorded_without_secrets(script, make_client, conn, secret):
    seen: list[Exchange] = []
    credential = f"Bearer {secret}" if conn.auth == "pat" else \
        "Basic " + base64.b64encode(f"{conn.username}:{secret}".encode()).decode()
    # A hostile or buggy proxy echoing credentials back must not leak them into the history either.
    script.on("POST", ".*/issue", status=400, json_body={
        "errorMessages": [f"bad auth {secret}"], "errors": {}, "password": "hunter2", "nested": [{"apiToken": "t"}]})
    script.on("GET", ".*/myself", text=f"<html>Authorization: {credential}</html>", headers={"content-type": "text/html"})
    client = make_client(conn, on_exchange=seen.append)
    with pytest.raises(JiraPermanentError):
        await client.create_issue(DRAFT)
    with pytest.raises(JiraConnectError):
        await client.myself()
    assert [(e.method, e.status) for e in seen] == [("POST", 400), ("GET", 200)]
    first = seen[0]
    assert first.path.endswith("/issue") and first.request_body["fields"]["summary"] == "s"
    assert first.duration_ms >= 0
    assert first.response_body["password"] == "<secret>" and first.response_body["nested"] == [{"apiToken": "<secret>"}]
    for exchange in seen:
        text = repr(exchange)
        assert secret not in text and credential.split()[1] not in text and "hunter2" not in text


async def test_exchange_for_a_failed_connection_and_async_hook(script, make_client):
    seen: list[Exchange] = []

    async def hook(exchange: Exchange) -> None:
        seen.append(exchange)

    def refuse(request):
        raise httpx.ConnectError("Connection refused", request=request)
    script.on("GET", "/rest/api/3/issue/1", respond=refuse)
    with pytest.raises(JiraConnectError):
        await make_client(cloud_conn(), on_exchange=hook).get_issue("1")
    assert seen[0].status is None and "refused" in seen[0].response_body
    assert seen[0].path == "/rest/api/3/issue/1?fields=status%2Cpriority%2Cresolution"


async def test_large_bodies_are_cut_to_4kb(script, make_client):
    seen: list[Exchange] = []
    script.on("GET", "/rest/api/3/project/OPS", json_body={"id": "1", "key": "OPS", "name": "x" * 10_000})
    await make_client(cloud_conn(), on_exchange=seen.append).project("OPS")
    assert isinstance(seen[0].response_body, str) and len(seen[0].response_body) < 4200


async def test_a_failing_hook_does_not_fail_the_call(script, make_client):
    def broken(exchange):
        raise RuntimeError("history store down")
    script.on("GET", "/rest/api/3/project/OPS", json_body={"id": "1", "key": "OPS", "name": "Ops"})
    assert (await make_client(cloud_conn(), on_exchange=broken).project("OPS")).key == "OPS"


# ---------------------------------------------------------------- TLS
async def test_bad_ca_bundle_is_reported_on_first_call(script, make_client):
    client = make_client(server_conn(ca_bundle="-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
    with pytest.raises(JiraConnectError) as err:
        await client.server_info()
    assert err.value.reason == "tls" and not script.requests


def test_ca_bundle_adds_to_the_default_trust():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from jira_sync.jira.client_http import tls_verify

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Test Private CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    plain = tls_verify(server_conn())
    extra = tls_verify(server_conn(ca_bundle=pem))
    assert isinstance(extra, ssl.SSLContext) and extra.verify_mode == ssl.CERT_REQUIRED
    assert extra.cert_store_stats()["x509_ca"] == plain.cert_store_stats()["x509_ca"] + 1
    assert tls_verify(server_conn(verify_tls=False)) is False


@pytest.mark.parametrize("status", [403, 404, 500, 418])
def test_a_non_jira_answer_is_reported_by_status_line_never_by_its_body(status):
    # /api/jira/check row: an internal page's body (here a "secret") must not come back
    error = error_for_response(status, httpx.Headers({"content-type": "text/html"}), "<h1>internal secret-path</h1>",
                               site=CLOUD, method="GET", path="/rest/api/2/serverInfo", write=False)
    assert error is not None and "secret-path" not in error.message
    assert str(status) in error.message
