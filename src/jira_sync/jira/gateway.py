"""Jira Cloud's API gateway, for tokens the site URL refuses (jira.md, last section).

Scoped API tokens, and every token of an Atlassian service account, work only through
`https://api.atlassian.com/ex/jira/{cloudId}/rest/...`, with the same Basic `email:token`;
the site URL answers them 401. The site URL stays what people enter and what browse links
use. The route is found by trying: a Cloud client starts on the site URL and, when the site
answers 401, reads the cloud id from the site's public `/_edge/tenant_info` and sends the
same request through the gateway. If the gateway takes it, the client stays there; if it
refuses too, the token is simply wrong or expired and the site's answer is what the caller
hears. A service account (`...@serviceaccount.atlassian.com`) goes to the gateway at once.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

DEFAULT_GATEWAY = "https://api.atlassian.com"
SERVICE_ACCOUNT_DOMAIN = "@serviceaccount.atlassian.com"
TENANT_INFO = "/_edge/tenant_info"

CloudIdReader = Callable[[], Awaitable[str | None]]


class CloudRoute:
    """Where one Cloud client's REST calls go: the site URL, or the gateway."""

    def __init__(self, site_url: str, gateway_url: str, username: str, *, cloud: bool) -> None:
        self.site_url = site_url.rstrip("/")
        self.gateway_url = (gateway_url or DEFAULT_GATEWAY).rstrip("/")
        self.cloud = cloud
        self.service_account = cloud and username.strip().lower().endswith(SERVICE_ACCOUNT_DOMAIN)
        self.cloud_id: str | None = None
        self._prefix: str | None = None  # absolute URL the paths are appended to, once on the gateway
        self._tried = False  # the gateway was tried for this client (once is enough)
        self._lock = asyncio.Lock()

    @property
    def via_gateway(self) -> bool:
        return self._prefix is not None

    def target(self, path: str) -> str:
        """What to send `path` (`/rest/api/3/...`) to: relative to the site, or the gateway's URL."""
        return self._prefix + path if self._prefix else path

    def should_start_on_gateway(self) -> bool:
        return self.service_account and not self._tried

    def may_retry_on_gateway(self, status: int | None) -> bool:
        """A 401 from the site for a Cloud token: perhaps a scoped one."""
        return self.cloud and status == 401 and not self._tried

    async def use_gateway(self, read_cloud_id: CloudIdReader) -> bool:
        """Switch to the gateway (reading the cloud id once); False when the site has none."""
        async with self._lock:
            if self._prefix is not None:
                return True  # another request switched while this one waited
            if self._tried:
                return False
            self._tried = True
            cloud_id = await read_cloud_id()
            if not cloud_id:
                return False
            self.cloud_id = cloud_id
            self._prefix = f"{self.gateway_url}/ex/jira/{cloud_id}"
            return True

    def back_to_site(self) -> None:
        """The gateway refused the token too: it is not a scoped token, just a refused one."""
        if not self.service_account:
            self._prefix = None

    def note(self) -> str | None:
        """What the setup check says about the route, when it is the gateway."""
        if self._prefix is None:
            return None
        who = "a service account's token" if self.service_account else "a scoped API token"
        return (f"API calls go through the Atlassian API gateway ({self._prefix}): this is {who}, which "
                f"the site URL refuses. Browse links stay on {self.site_url}.")


def cloud_id_of(body: Any) -> str | None:
    """`{"cloudId": "..."}` from `/_edge/tenant_info`, or None."""
    value = body.get("cloudId") if isinstance(body, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None
