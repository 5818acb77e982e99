"""The Jira sites as people see them: sending, or paused and why (an outage being probed,
refused credentials, a Retry-After), with the integrations that wait."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

from ..store import sites as store
from ..store.db import Engine, read
from ..store.sites import SiteRow
from ..sync.sites import keys_of, state_of
from .models import SiteStateView


def site_view(jira: Mapping[str, Any], rows: Mapping[str, SiteRow], now: float) -> SiteStateView:
    """The state an integration with this Jira connection waits in (its account's, else its site's)."""
    site, account = keys_of(jira)
    for key in (account, site):
        row = rows.get(key)
        if row is not None and state_of(row, now) != "ok":
            return _view(row, now)
    return SiteStateView(key=site, url=site, state="ok")


def _view(row: SiteRow, now: float, integration_ids: list[int] | None = None) -> SiteStateView:
    return SiteStateView(
        key=row.key, url=row.url, account=row.account, state=state_of(row, now), reason=row.reason,
        message=row.message, since=row.since, next_probe_at=row.next_probe_at, resume_at=row.resume_at,
        integration_ids=integration_ids or [],
    )


async def load_rows(engine: Engine) -> dict[str, SiteRow]:
    return {r.key: r for r in await store.load(engine)}


@dataclass
class JiraSites:
    engine: Engine

    async def list(self) -> list[SiteStateView]:
        """Every site an integration uses, and every account paused on one, with its state."""
        async with read(self.engine) as conn:
            rows = {r.key: r for r in await store.load_on(conn)}
            integrations = await store.integration_sites(conn)
        now = time.time()
        users: dict[str, list[int]] = {}  # site or account key -> its integrations
        for iid, jira in integrations:
            for key in keys_of(jira):
                users.setdefault(key, []).append(iid)
        sites = {keys_of(jira)[0] for _, jira in integrations}
        views = []
        for key in sorted(sites | rows.keys()):
            row = rows.get(key)
            if row is not None and state_of(row, now) != "ok":
                views.append(_view(row, now, users.get(key, [])))
            elif key in sites:
                views.append(SiteStateView(key=key, url=key, state="ok", integration_ids=users[key]))
        return views
