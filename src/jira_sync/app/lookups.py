"""Jira look-ups while an integration is set up: for the REST API's /api/jira and the console.

Each takes a connection not saved yet, or a saved integration's id (its stored
credentials). Jira's own failures become `JiraFailed` with a problem code
(`setup/lookups.py` lists them) and a sentence to show.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator

from ..domain.integration import JiraConnection
from ..jira.port import JiraAuthError, JiraError, JiraNotFound, JiraPermanentError, JiraPort
from ..setup import lookups
from ..setup.lookups import ConnectionResult
from .errors import JiraFailed, JiraRefused
from .integrations import Integrations


@dataclass
class JiraLookups:
    integrations: Integrations

    async def connection(self, conn: JiraConnection | None, integration_id: int | None) -> JiraConnection:
        if conn is not None:
            return conn
        assert integration_id is not None
        return (await self.integrations.get(integration_id)).config.jira

    @contextlib.asynccontextmanager
    async def _jira(self, conn: JiraConnection) -> AsyncIterator[JiraPort]:
        async with self.integrations.jira(conn) as jira:
            try:
                yield jira
            except JiraError as exc:  # auth and connection errors included
                if isinstance(exc, JiraAuthError):
                    # Jira answered, and refused these credentials (given, or stored with the
                    # integration): the caller's to fix, so a 4xx; a 5xx is for Jira failing
                    raise JiraRefused(exc.reason or "bad_credentials", exc.message) from None
                if isinstance(exc, JiraPermanentError):
                    # Jira answered, and what was asked is wrong (no such project, a refused value)
                    problem = "not_found" if isinstance(exc, JiraNotFound) else "refused"
                    raise JiraRefused(problem, exc.message) from None
                raise JiraFailed(getattr(exc, "reason", None) or "jira_error", exc.message) from None

    async def check(self, conn: JiraConnection, *, worked_before: bool = False) -> ConnectionResult:
        """Reachable, a Jira, the right platform, credentials accepted: each failure named."""
        async with self.integrations.jira(conn) as jira:
            return await lookups.check_connection(conn, jira, worked_before=worked_before)

    async def projects(self, conn: JiraConnection, query: str = "", limit: int = 50) -> list[dict[str, str]]:
        async with self._jira(conn) as jira:
            return await lookups.projects(jira, query, limit)

    async def issue_types(self, conn: JiraConnection, project: str) -> list[dict[str, Any]]:
        async with self._jira(conn) as jira:
            return await lookups.issue_types(jira, project)

    async def screen(self, conn: JiraConnection, project: str, issue_type: str) -> lookups.Screen:
        async with self._jira(conn) as jira:
            return await lookups.screen(jira, project, issue_type)

    async def statuses(self, conn: JiraConnection, project: str, issue_type: str) -> dict[str, Any]:
        async with self._jira(conn) as jira:
            return await lookups.statuses(jira, project, issue_type)
