"""The wire under our outgoing HTTP (Jira, Flashduty's Open API): httpx's client API on
aiohttp's connection handling.

Why: measured on this project's 2-core machine against a local server (16 requests in flight,
a Jira-sized create body), httpx's own transport (httpcore on anyio) cost 1.4-2.1 ms of client
CPU per request, aiohttp alone ~0.15 ms, and httpx's client on this transport ~0.45 ms. A sync
makes about one Jira call per change, so in automatic mode the transport was the largest single
cost of a reconcile. Everything above the wire stays httpx: request building and URL encoding,
`httpx.Response`, the error types `jira/client_errors.py` maps, and the in-process transports
the tests inject.

What a transport owes httpx, kept here:
- the answer's bytes as they came (aiohttp's decompression off: httpx decodes gzip itself);
- the URL as httpx encoded it (no second quoting: ids and keys are path segments we escaped);
- no redirects followed, no cookie jar (httpx's client has its own);
- failures as httpx's exception types, so a write whose answer was lost still reads as
  "outcome unknown" and a refused connection as "never sent": ConnectTimeout/ConnectError
  (the TLS cause kept in the chain) before anything was sent, ReadTimeout, and
  ReadError/RemoteProtocolError when the connection broke mid-exchange.
Proxies: httpx drops its environment proxies when given a transport, so this one reads the
same HTTP_PROXY / HTTPS_PROXY / NO_PROXY variables, once per host. (aiohttp's own `trust_env`
reads them, and ~/.netrc, on a helper thread for every request: ~7% of the service's CPU under
load when tried.)
"""
from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request

import aiohttp
import certifi
import httpx
import yarl


def public_cas() -> ssl.SSLContext:
    """Certificates checked against the public CAs httpx trusts by default (certifi's), not the
    system's store, which a slim container image may lack."""
    return ssl.create_default_context(cafile=certifi.where())


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One connection pool (an aiohttp session), opened on first use on the running loop."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, max_connections: int = 100,
                 keepalive_expiry: float = 30.0) -> None:
        # True: the public CAs (`public_cas`); an SSLContext as given; False: no checks
        self._ssl: ssl.SSLContext | bool = public_cas() if verify is True else verify
        self._limit = max_connections
        self._keepalive = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], tuple[yarl.URL | None, dict[str, str] | None]] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=self._keepalive, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        body = await request.aread()
        timeout = request.extensions.get("timeout", {})
        connect, read, pool = timeout.get("connect"), timeout.get("read"), timeout.get("pool")
        limits = aiohttp.ClientTimeout(
            total=None, sock_read=read, sock_connect=connect,
            # aiohttp's `connect` covers waiting for a pooled connection and opening one
            connect=None if connect is None or pool is None else connect + pool,
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        url = yarl.URL(str(request.url), encoded=True)
        proxy, proxy_headers = self._proxy_for(url)
        if proxy_headers and url.scheme == "http":
            # no tunnel: the proxy reads this request itself (through a CONNECT tunnel, the
            # credential goes on the CONNECT only, never on to the site)
            headers.extend(proxy_headers.items())
            proxy_headers = None
        try:
            async with session.request(
                request.method, url, data=body or None, headers=headers, allow_redirects=False, timeout=limits,
                proxy=proxy, proxy_headers=proxy_headers,
            ) as answer:
                content = await answer.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out connecting", request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS, proxy: nothing was sent
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out waiting for the answer", request=request) from exc
        except aiohttp.ClientOSError as exc:  # reset or broken pipe mid-exchange
            raise httpx.ReadError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:  # closed early, a malformed answer, a cut body
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(
            answer.status, headers=answer.raw_headers, stream=httpx.ByteStream(content), request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (answer.reason or "").encode("latin-1")},
        )

    def _proxy_for(self, url: yarl.URL) -> tuple[yarl.URL | None, dict[str, str] | None]:
        key = (url.scheme, url.host)
        if key not in self._proxies:
            self._proxies[key] = _env_proxy(url)
        return self._proxies[key]

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _env_proxy(url: yarl.URL) -> tuple[yarl.URL | None, dict[str, str] | None]:
    """The proxy the environment names for this URL's scheme, unless NO_PROXY exempts its host;
    credentials in the proxy's URL become its Proxy-Authorization."""
    if url.host and urllib.request.proxy_bypass(url.host):
        return None, None
    named = urllib.request.getproxies().get(url.scheme)
    if not named:
        return None, None
    proxy = yarl.URL(named)
    if not proxy.user:
        return proxy, None
    pair = f"{proxy.user}:{proxy.password or ''}".encode()
    return proxy.with_user(None), {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
