"""One pooled HTTP session to one Jira site: auth, TLS, the site gate, error mapping, exchanges.

`JiraClient` builds on `JiraHttp.request()`; nothing above this layer sees httpx.
"""
from __future__ import annotations

import base64
import functools
import inspect
import json
import logging
import re
import ssl
import time
from typing import Any

import httpx

from .. import turns
from ..domain.integration import JiraAuthKind, JiraConnection, JiraPlatform
from ..observe import tracing
from ..observe.metrics import Metrics
from ..outbound_http import AiohttpTransport, public_cas
from .client_errors import Site, error_for_response, error_for_transport
from .gateway import DEFAULT_GATEWAY, TENANT_INFO, CloudRoute, cloud_id_of
from .port import Exchange, ExchangeHook, JiraAuthError, JiraConnectError, JiraError, JiraPermanentError
from .ratelimit import SiteGate, site_key

log = logging.getLogger(__name__)

RECORD_LIMIT = 4096  # characters of a body kept in an Exchange
REDACTED = "<secret>"
_SECRET_KEY = re.compile(r"(?i)pass(word|wd)?$|secret|authori[sz]ation|api[_-]?token|access[_-]?token|^token$|cookie")


def tls_verify(conn: JiraConnection) -> ssl.SSLContext | bool:
    """TLS on by default; `ca_bundle` adds a private CA to the public ones (not instead of them)."""
    if not conn.verify_tls:
        return False
    ctx = public_cas()
    if conn.ca_bundle:
        ctx.load_verify_locations(cadata=conn.ca_bundle)
    return ctx


def auth_header(conn: JiraConnection) -> str:
    secret = conn.secret.get_secret_value()
    if conn.auth is JiraAuthKind.PAT:
        # Data Center 8.14+: a PAT is a bearer token, not a Basic password.
        return f"Bearer {secret}"
    raw = f"{conn.username}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Redactor:
    """Removes the credential - and anything keyed like a secret - from what we record."""

    def __init__(self, conn: JiraConnection, header: str) -> None:
        secret = conn.secret.get_secret_value()
        self._needles = [n for n in (secret, header.split(" ", 1)[-1]) if len(n) >= 4]

    def text(self, value: str) -> str:
        for needle in self._needles:
            value = value.replace(needle, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: REDACTED if _secret_key(k) else self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


@functools.lru_cache(maxsize=1024)
def _secret_key(key: Any) -> bool:
    """Whether a body's key names a secret. Bodies repeat a few dozen keys ("type", "content",
    "text", ...): each is matched once, not once per node of every request and answer recorded."""
    return _SECRET_KEY.search(str(key)) is not None


def for_record(value: Any, limit: int = RECORD_LIMIT) -> Any:
    """Parsed JSON when small; otherwise its text cut to `limit` characters."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) <= limit:
        return value
    return text[:limit] + f"... [{len(text) - limit} more characters]"


def _parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", "").lower() or response.content[:1] in (b"{", b"["):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


class JiraHttp:
    def __init__(
        self,
        conn: JiraConnection,
        *,
        gate: SiteGate | None,
        on_exchange: ExchangeHook | None,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        gateway_url: str = DEFAULT_GATEWAY,
        metrics: Metrics | None = None,
    ) -> None:
        self.conn = conn
        self._metrics = metrics
        self._site_label = site_key(conn.url)
        self.cloud = conn.platform is JiraPlatform.CLOUD
        self.site = Site(conn.url, self.cloud, conn.auth is JiraAuthKind.PAT, conn.username)
        self.route = CloudRoute(conn.url, gateway_url, conn.username, cloud=self.cloud)
        self.gate = gate or SiteGate()  # a client on its own (tests, one-off tools)
        self._hook = on_exchange
        header = auth_header(conn)
        self._redact = Redactor(conn, header)
        self._config_error: JiraError | None = None
        try:
            verify: ssl.SSLContext | bool = tls_verify(conn)
        except (ssl.SSLError, ValueError, TypeError) as exc:  # TypeError: ssl takes only ASCII PEM
            # A broken CA bundle is reported by the first call (the connection check), not
            # at construction, so wiring never fails on one bad integration.
            verify = True
            self._config_error = JiraConnectError(f"The CA bundle is not valid PEM: {exc}", reason="tls")
        # tests hand in a transport to an in-process Jira; a real site is reached over aiohttp
        wire = transport or AiohttpTransport(verify=verify, max_connections=max(self.gate.limit, 8),
                                             keepalive_expiry=30)
        # httpx's client gives the defaults (headers, timeouts, base URL) and tells
        # the transport's exceptions apart; each request goes to the transport directly (`_send`)
        client = httpx.AsyncClient(
            base_url=conn.url,
            headers={"Authorization": header, "Accept": "application/json", "User-Agent": "jira-sync"},
            timeout=httpx.Timeout(timeout),
            transport=wire,
            follow_redirects=False,
        )
        self._wire = wire
        self._base = str(client.base_url).rstrip("/") + "/"  # (httpx prints a bare host without it)
        self._headers = client.headers
        self._extensions = {"timeout": client.timeout.as_dict()}
        # a site's session cookies (JSESSIONID, load balancer affinity) go back to it, as a browser's would
        self._cookies = httpx.Cookies()

    async def aclose(self) -> None:
        await self._wire.aclose()

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
        write: bool = False,
    ) -> Any:
        """Send one request; return the parsed body of a 2xx, else raise the mapped JiraError.

        `write` marks a non-idempotent POST whose outcome is unknown if the answer is lost.
        A Cloud token the site refuses is tried once through the API gateway (gateway.py).
        """
        if self.route.should_start_on_gateway():
            await self.route.use_gateway(self._read_cloud_id)
        try:
            return await self._send(method, path, params=params, json_body=json_body, write=write)
        except JiraAuthError as refused:
            # a 401 is refused before anything happens: resending a write is safe
            if not self.route.may_retry_on_gateway(refused.status):
                raise
            if not await self.route.use_gateway(self._read_cloud_id):
                raise
            try:
                return await self._send(method, path, params=params, json_body=json_body, write=write)
            except JiraAuthError as again:
                if again.reason != "bad_credentials":
                    raise  # the gateway knows the token (e.g. a scope is missing): say so
                self.route.back_to_site()
                raise refused from None  # refused everywhere: a wrong or expired token
            except JiraError as failed:
                self.route.back_to_site()
                raise JiraAuthError(
                    f"{refused.message} (A scoped token would go through the Atlassian API gateway, "
                    f"{self.route.gateway_url}, which failed too: {failed.message})",
                    reason=refused.reason, status=refused.status) from None

    async def _read_cloud_id(self) -> str | None:
        try:
            return cloud_id_of(await self._send("GET", TENANT_INFO, on_site=True))
        except JiraError:
            return None

    async def _send(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
        write: bool = False, on_site: bool = False,
    ) -> Any:
        if self._config_error:
            raise self._config_error
        target = path if on_site else self.route.target(path)
        try:
            request = self._request(method, target, params, json_body)
        except httpx.InvalidURL as exc:  # a value from a form or body that no URL can carry
            raise JiraPermanentError(f"cannot ask Jira for {method} {path[:100]}: {exc}") from None
        shown_path = request.url.raw_path.decode("ascii", "replace")
        started = time.perf_counter()
        response: httpx.Response | None = None
        body: Any = None
        with tracing.client_span(method, str(request.url), **{"server.address": request.url.host}) as span:
            try:
                async with self.gate.slot():
                    response = await self._wire.handle_async_request(request)
                    response.request = request  # as httpx's client sets it (a test's transport may not)
                    await response.aread()
                    if "set-cookie" in response.headers:
                        self._cookies.extract_cookies(response)
                    body = _parse_body(response)
            except httpx.HTTPError as exc:
                self._count(method, shown_path, None, started)
                await self._record(method, shown_path, json_body, None, str(exc), started)
                raise error_for_transport(exc, site=self.site, method=method, path=shown_path, write=write) from exc
            tracing.set_status(span, response.status_code)
        await turns.take()  # a reconcile: other answers may have come with this one (turns.py)
        self._count(method, shown_path, response.status_code, started)
        if log.isEnabledFor(logging.DEBUG):  # (httpx's client logged each request; it is not in the path now)
            log.debug("Jira %s %s: %s in %.1f ms", method, self._redact.text(shown_path), response.status_code,
                      (time.perf_counter() - started) * 1000)
        await self._record(method, shown_path, json_body, response.status_code, body, started)
        error = error_for_response(response.status_code, response.headers, body, site=self.site,
                                   method=method, path=shown_path, write=write)
        if error is not None:
            if error.retry_after:
                self.gate.note_retry_after(error.retry_after)
            raise error
        if body is not None and not isinstance(body, (dict, list)):
            raise JiraConnectError(
                f"{self.conn.url} answered {method} {shown_path} with a non-JSON page "
                f"({response.headers.get('content-type', 'no content type')}): is this the Jira base URL, "
                "or is a login proxy in the way?", reason="not_jira", status=response.status_code)
        return body

    def _request(self, method: str, target: str, params: dict[str, Any] | None, json_body: Any) -> httpx.Request:
        """The request httpx's client would build (its URL joined to the base URL, its headers,
        timeouts and cookies), without the client's per-request machinery: its URL merging,
        cookie bookkeeping on every answer and send pipeline cost ~100-200 us of CPU per
        request (`bench/http_client.py`), and a reconcile makes one or two. Redirects are
        not followed either way."""
        url = target if target.startswith(("https://", "http://")) else self._base + target.lstrip("/")
        request = httpx.Request(method, url, params=params, json=json_body, headers=self._headers,
                                extensions=self._extensions)
        if self._cookies:
            self._cookies.set_cookie_header(request)
        return request

    def _count(self, method: str, path: str, status: int | None, started: float) -> None:
        if self._metrics is not None:
            self._metrics.jira_request(self._site_label, method, path, status, time.perf_counter() - started)

    async def _record(self, method: str, path: str, sent: Any, status: int | None, got: Any, started: float) -> None:
        if self._hook is None:
            return
        exchange = Exchange(
            method=method,
            path=self._redact.text(path),
            request_body=for_record(self._redact.value(sent)),
            status=status,
            response_body=for_record(self._redact.value(got)),
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        try:
            result = self._hook(exchange)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the history is a record, never a reason to fail the Jira call
            log.exception("on_exchange hook failed for %s %s", method, path)
