"""The aiohttp wire under httpx (outbound_http.py), against real local servers.

What httpx's own transport did and a real site relies on: the URL sent as encoded, bodies and
headers as given, gzip decoded once, redirects and cookies left to httpx, TLS with a private
CA, and failures that keep "never sent" apart from "outcome unknown" for a write.
"""
from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jira_sync.domain.integration import JiraConnection
from jira_sync.domain.issue import IssueDraft
from jira_sync.jira.client import JiraClient
from jira_sync.jira.port import JiraConnectError, JiraRetryableError
from jira_sync.outbound_http import AiohttpTransport

SERVER_INFO = {"baseUrl": "x", "version": "8.20.0", "versionNumbers": [8, 20, 0], "deploymentType": "Server"}


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({
        "method": request.method, "raw_path": request.raw_path, "body": (await request.read()).decode(),
        "headers": {k.lower(): v for k, v in request.headers.items()},
    })


async def _gzipped(request: web.Request) -> web.Response:
    body = gzip.compress(b'{"zipped": true}')
    return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})


async def _redirect(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "/login.jsp", "Set-Cookie": "JSESSIONID=abc; Path=/"})


async def _server_info(request: web.Request) -> web.Response:
    return web.json_response(SERVER_INFO)


def _app() -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/echo/{tail:.*}", _echo)
    app.router.add_get("/gz", _gzipped)
    app.router.add_get("/redirect", _redirect)
    app.router.add_get("/jira/rest/api/2/serverInfo", _server_info)
    return app


async def _serve(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


@pytest.fixture
async def server() -> AsyncIterator[str]:
    runner, port = await _serve(_app())
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = httpx.AsyncClient(transport=AiohttpTransport(), timeout=5.0, follow_redirects=False)
    yield c
    await c.aclose()


async def test_method_url_headers_and_body_arrive_as_httpx_built_them(server, client):
    # %2F inside a segment, %2C and %27 in the query: sent as httpx encoded them, never re-quoted
    r = await client.post(f"{server}/echo/issue/OPS%2F1/comment", params={"jql": "labels = 'a b'", "fields": "a,b"},
                          json={"body": "ü"}, headers={"Authorization": "Basic dXNlcg=="})
    sent = r.json()
    assert r.status_code == 200 and sent["method"] == "POST"
    assert sent["raw_path"] == "/echo/issue/OPS%2F1/comment?jql=labels+%3D+%27a+b%27&fields=a%2Cb"
    assert sent["body"] == '{"body":"ü"}'
    assert sent["headers"]["authorization"] == "Basic dXNlcg=="
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["user-agent"].startswith("python-httpx")  # httpx's, not aiohttp's


async def test_a_get_carries_no_body_and_no_invented_content_type(server, client):
    sent = (await client.get(f"{server}/echo/x")).json()
    assert sent["body"] == "" and "content-type" not in sent["headers"]


async def test_gzip_is_decoded_once(server, client):
    r = await client.get(f"{server}/gz")
    assert r.json() == {"zipped": True} and r.headers["content-encoding"] == "gzip"


async def test_redirects_come_back_unfollowed(server, client):
    r = await client.get(f"{server}/redirect")
    assert r.status_code == 302 and r.headers["location"] == "/login.jsp"
    assert r.reason_phrase == "Found" and r.http_version == "HTTP/1.1"


async def test_connections_are_kept_and_reused(server):
    seen: set[tuple[str, int]] = set()

    async def peer(request: web.Request) -> web.Response:
        seen.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/p", peer)
    runner, port = await _serve(app)
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=2)) as c:
            for _ in range(3):
                await asyncio.gather(*(c.get(f"http://127.0.0.1:{port}/p") for _ in range(2)))
        assert len(seen) <= 2
    finally:
        await runner.cleanup()


# ---------------------------------------------------------------- failures
async def _raw_server(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
                      ) -> tuple[asyncio.base_events.Server, int]:
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0)
    await reader.readexactly(length)


def _server_conn(url: str, **kw: object) -> JiraConnection:
    return JiraConnection(platform="server", url=url, username="admin", secret="s3cr3t-pass", **kw)


async def _create(url: str, timeout: float = 5.0) -> None:
    async with JiraClient(_server_conn(url), timeout=timeout) as jira:
        await jira.create_issue(IssueDraft(project_key="OPS", issue_type_id="1", summary="s",
                                           description_markdown="d", labels=("fd-1",)))


async def test_a_refused_connection_is_never_sent():
    srv, port = await _raw_server(lambda r, w: asyncio.sleep(0))
    srv.close()
    await srv.wait_closed()
    with pytest.raises(JiraConnectError) as err:
        await _create(f"http://127.0.0.1:{port}")
    assert err.value.reason == "unreachable" and not err.value.outcome_unknown


async def test_a_write_whose_answer_never_comes_has_an_unknown_outcome():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(10)

    srv, port = await _raw_server(silent)
    try:
        with pytest.raises(JiraRetryableError) as err:
            await _create(f"http://127.0.0.1:{port}", timeout=0.3)
        assert err.value.timed_out and err.value.outcome_unknown
    finally:
        srv.close()


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{\"id\":", b"garbage\r\n\r\n"],
                         ids=["closed", "cut-body", "not-http"])
async def test_a_write_cut_off_mid_answer_has_an_unknown_outcome(answer):
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    srv, port = await _raw_server(cut)
    try:
        with pytest.raises(JiraRetryableError) as err:
            await _create(f"http://127.0.0.1:{port}")
        assert err.value.outcome_unknown and not isinstance(err.value, JiraConnectError)
    finally:
        srv.close()


# ---------------------------------------------------------------- TLS with a private CA
def _pem(obj: x509.Certificate) -> str:
    return obj.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 that it signed: (CA PEM, cert file, key file)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jira-sync test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_text(_pem(cert))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return _pem(ca), folder / "cert.pem", folder / "key.pem"


@pytest.fixture
async def tls_jira(private_ca) -> AsyncIterator[str]:
    _, cert, key = private_ca
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    runner, port = await _serve(_app(), ctx)
    yield f"https://127.0.0.1:{port}/jira"
    await runner.cleanup()


async def test_an_unknown_ca_is_reported_as_tls(tls_jira):
    async with JiraClient(_server_conn(tls_jira)) as jira:
        with pytest.raises(JiraConnectError) as err:
            await jira.server_info()
    assert err.value.reason == "tls" and "CA bundle" in err.value.message


async def test_the_connection_s_ca_bundle_is_trusted(tls_jira, private_ca):
    async with JiraClient(_server_conn(tls_jira, ca_bundle=private_ca[0])) as jira:
        assert (await jira.server_info()).version == "8.20.0"


async def test_checks_off_reaches_a_site_with_an_unknown_ca(tls_jira):
    async with JiraClient(_server_conn(tls_jira, verify_tls=False)) as jira:
        assert (await jira.server_info()).version == "8.20.0"


# ---------------------------------------------------------------- proxies from the environment
async def test_the_environment_s_proxy_is_used_unless_no_proxy_names_the_host(monkeypatch, server):
    asked: list[tuple[str, str | None]] = []

    async def proxy(request: web.Request) -> web.Response:  # a forward proxy sees the absolute URL
        asked.append((str(request.url), request.headers.get("Proxy-Authorization")))
        return web.Response(text="via proxy")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner, port = await _serve(app)
    monkeypatch.setenv("HTTP_PROXY", f"http://ops:pw@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport()) as c:
            via = await c.get("http://jira.example.invalid/rest/api/2/serverInfo")
            direct = await c.get(f"{server}/echo/direct")
        assert via.text == "via proxy"
        assert asked == [("http://jira.example.invalid/rest/api/2/serverInfo", "Basic b3BzOnB3")]
        assert direct.json()["raw_path"] == "/echo/direct"
    finally:
        await runner.cleanup()


async def test_the_default_verifies_certificates(tls_jira):
    """Flashduty's client uses the transport's default: checked against the public CAs."""
    async with httpx.AsyncClient(transport=AiohttpTransport()) as c:
        with pytest.raises(httpx.ConnectError):
            await c.get(tls_jira + "/rest/api/2/serverInfo")


# ---------------------------------------------------------------- the Jira connection on this wire
async def test_the_jira_connection_sends_what_httpx_s_client_would():
    """JiraHttp hands each request to the transport itself (client_http.py `_request`): the
    URL joined under a site's context path and encoded as httpx's client would, its default
    headers, and a session cookie the site set sent back, as the client's jar did."""
    async def login(request: web.Request) -> web.Response:
        return web.json_response({"name": "admin"}, headers={"Set-Cookie": "JSESSIONID=s1; Path=/jira"})

    app = web.Application()
    app.router.add_get("/jira/rest/api/2/myself", login)
    app.router.add_route("*", "/jira/{tail:.*}", _echo)
    runner, port = await _serve(app)
    from jira_sync.jira.client_http import JiraHttp

    http = JiraHttp(_server_conn(f"http://127.0.0.1:{port}/jira"), gate=None, on_exchange=None, timeout=5,
                    transport=None)
    try:
        first = await http.request("POST", "rest/api/2/issue/OPS%2F1/comment", params={"jql": "labels = 'a b'"},
                                   json_body={"body": "ü"})
        assert first["raw_path"] == "/jira/rest/api/2/issue/OPS%2F1/comment?jql=labels+%3D+%27a+b%27"
        assert first["body"] == '{"body":"ü"}'
        headers = first["headers"]
        assert headers["authorization"].startswith("Basic ") and headers["accept"] == "application/json"
        assert headers["user-agent"] == "jira-sync" and headers["content-type"] == "application/json"
        assert "cookie" not in headers
        assert await http.request("GET", "/rest/api/2/myself") == {"name": "admin"}
        again = await http.request("GET", "rest/api/2/serverInfo")
        assert again["raw_path"] == "/jira/rest/api/2/serverInfo" and again["headers"]["cookie"] == "JSESSIONID=s1"
    finally:
        await http.aclose()
        await runner.cleanup()
