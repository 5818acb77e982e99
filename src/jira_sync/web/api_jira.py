"""Jira metadata look-ups for a connection (what the console's setup steps need), under /api/jira.

Each call names a connection: either `connection` (credentials not saved yet, step 1 of the
setup) or `integration_id` (a saved integration's stored credentials). Jira's own failures
come back as 502 with a `problem` code and a sentence to show (`sync/metadata.py`).
"""
from __future__ import annotations

import contextlib
from typing import Annotated, Any, AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..bootstrap import Runtime
from ..domain.integration import JiraConnection
from ..jira.port import JiraError, JiraPort
from ..sync import metadata
from .api import require_admin, runtime

RT = Annotated[Runtime, Depends(runtime)]
router = APIRouter(prefix="/api/jira", dependencies=[Depends(require_admin)], tags=["jira metadata"])


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: JiraConnection | None = Field(default=None, description="a connection not saved yet")
    integration_id: int | None = Field(default=None, description="or: use this integration's stored connection")

    @model_validator(mode="after")
    def _one_connection(self) -> "Lookup":
        if (self.connection is None) == (self.integration_id is None):
            raise ValueError("give either `connection` or `integration_id`")
        return self


class ProjectQuery(Lookup):
    query: str = Field(default="", max_length=200, description="matches project keys and names")
    limit: int = Field(default=50, ge=1, le=200)


class ProjectLookup(Lookup):
    project: str = Field(min_length=1, description="project key or id")


class IssueTypeLookup(ProjectLookup):
    issue_type: str = Field(min_length=1, description="issue type id")


class JiraLookupFailed(Exception):
    def __init__(self, exc: JiraError) -> None:
        super().__init__(exc.message)
        self.problem = getattr(exc, "reason", None) or "jira_error"
        self.message = exc.message


def lookup_failed(_req: Any, exc: JiraLookupFailed) -> JSONResponse:
    return JSONResponse({"detail": {"error": "jira", "problem": exc.problem, "message": exc.message}}, status_code=502)


async def connection_of(rt: Runtime, lookup: Lookup) -> JiraConnection:
    if lookup.connection is not None:
        return lookup.connection
    assert lookup.integration_id is not None
    return (await rt.admin.get(lookup.integration_id)).config.jira


@contextlib.asynccontextmanager
async def jira_for(rt: Runtime, lookup: Lookup) -> AsyncIterator[JiraPort]:
    async with rt.admin.jira(await connection_of(rt, lookup)) as jira:
        try:
            yield jira
        except JiraError as exc:  # auth and connection errors included
            raise JiraLookupFailed(exc) from None


@router.post("/check", summary="Check a connection: reachable, a Jira, the right platform, credentials accepted")
async def check(rt: RT, body: Lookup) -> dict[str, Any]:
    conn = await connection_of(rt, body)
    async with rt.admin.jira(conn) as jira:
        return (await metadata.check_connection(conn, jira)).as_dict()


@router.post("/projects", summary="Projects the account can see, searched by key or name")
async def projects(rt: RT, body: ProjectQuery) -> list[dict[str, str]]:
    async with jira_for(rt, body) as jira:
        return await metadata.projects(jira, body.query, body.limit)


@router.post("/issue-types", summary="Issue types the account can create in a project")
async def issue_types(rt: RT, body: ProjectLookup) -> list[dict[str, Any]]:
    async with jira_for(rt, body) as jira:
        return await metadata.issue_types(jira, body.project)


@router.post("/priorities", summary="Priorities of an issue type's create screen (or why severity cannot be mapped)")
async def priorities(rt: RT, body: IssueTypeLookup) -> dict[str, Any]:
    async with jira_for(rt, body) as jira:
        return (await metadata.screen(jira, body.project, body.issue_type)).priorities()


@router.post("/statuses", summary="Statuses of the project's workflow for an issue type, with the default mapping")
async def statuses(rt: RT, body: IssueTypeLookup) -> dict[str, Any]:
    async with jira_for(rt, body) as jira:
        return await metadata.statuses(jira, body.project, body.issue_type)


@router.post("/text-fields", summary="Text fields of the create screen: the only targets a field mapping may use")
async def text_fields(rt: RT, body: IssueTypeLookup) -> list[dict[str, str]]:
    async with jira_for(rt, body) as jira:
        return (await metadata.screen(jira, body.project, body.issue_type)).text_fields()


@router.post("/required-fields", summary="Required fields of the create screen that jira-sync does not fill by itself")
async def required_fields(rt: RT, body: IssueTypeLookup) -> list[dict[str, Any]]:
    async with jira_for(rt, body) as jira:
        return (await metadata.screen(jira, body.project, body.issue_type)).required_fields()
