"""Jira metadata look-ups for a connection (what the console's setup steps need), under /api/jira.

Each call names a connection: either `connection` (credentials not saved yet, step 1 of the
setup) or `integration_id` (a saved integration's stored credentials). Jira failing
(unreachable, a 5xx, a timeout) comes back as 502, Jira refusing what was asked (the project,
a value, the credentials) as 422; both with a `problem` code and a sentence to show
(`setup/lookups.py`).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..app.lookups import JiraLookups
from ..app.models import (
    ConnectionCheck,
    IssueTypeItem,
    PriorityChoices,
    ProjectItem,
    RequiredFieldItem,
    RowId,
    StatusChoices,
    TextFieldItem,
)
from ..domain.integration import JiraConnection
from .api import ERROR_ANSWERS, require_admin, runtime
from .input import StrictJsonRoute, refuse_unreadable_json

router = APIRouter(prefix="/api/jira", dependencies=[Depends(require_admin), Depends(refuse_unreadable_json)],
                   tags=["jira metadata"], route_class=StrictJsonRoute, responses=ERROR_ANSWERS)


class Lookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connection: JiraConnection | None = Field(default=None, description="a connection not saved yet")
    integration_id: RowId | None = Field(default=None, description="or: use this integration's stored connection")

    @model_validator(mode="after")
    def _one_connection(self) -> "Lookup":
        if (self.connection is None) == (self.integration_id is None):
            raise ValueError("give either `connection` or `integration_id`")
        return self


class ProjectQuery(Lookup):
    query: str = Field(default="", max_length=200, description="matches project keys and names")
    limit: int = Field(default=50, ge=1, le=200)


class ProjectLookup(Lookup):
    project: str = Field(min_length=1, max_length=255, description="project key or id")


class IssueTypeLookup(ProjectLookup):
    issue_type: str = Field(min_length=1, max_length=255, description="issue type id")


def _lookups(request: Request) -> JiraLookups:
    return runtime(request).lookups


Lookups = Annotated[JiraLookups, Depends(_lookups)]


async def _conn(svc: JiraLookups, body: Lookup) -> JiraConnection:
    return await svc.connection(body.connection, body.integration_id)


@router.post("/check", summary="Check a connection: reachable, a Jira, the right platform, credentials accepted")
async def check(svc: Lookups, body: Lookup) -> ConnectionCheck:
    return (await svc.check(await _conn(svc, body))).as_dict()


@router.post("/projects", summary="Projects the account can see, searched by key or name")
async def projects(svc: Lookups, body: ProjectQuery) -> list[ProjectItem]:
    return await svc.projects(await _conn(svc, body), body.query, body.limit)


@router.post("/issue-types", summary="Issue types the account can create in a project")
async def issue_types(svc: Lookups, body: ProjectLookup) -> list[IssueTypeItem]:
    return await svc.issue_types(await _conn(svc, body), body.project)


@router.post("/priorities", summary="Priorities of an issue type's create screen (or why severity cannot be mapped)")
async def priorities(svc: Lookups, body: IssueTypeLookup) -> PriorityChoices:
    return (await svc.screen(await _conn(svc, body), body.project, body.issue_type)).priorities()


@router.post("/statuses", summary="Statuses of the project's workflow for an issue type, with the default mapping")
async def statuses(svc: Lookups, body: IssueTypeLookup) -> StatusChoices:
    return await svc.statuses(await _conn(svc, body), body.project, body.issue_type)


@router.post("/text-fields", summary="Text fields of the create screen: the only targets a field mapping may use")
async def text_fields(svc: Lookups, body: IssueTypeLookup) -> list[TextFieldItem]:
    return (await svc.screen(await _conn(svc, body), body.project, body.issue_type)).text_fields()


@router.post("/required-fields", summary="Required fields of the create screen that jira-sync does not fill by itself")
async def required_fields(svc: Lookups, body: IssueTypeLookup) -> list[RequiredFieldItem]:
    return (await svc.screen(await _conn(svc, body), body.project, body.issue_type)).required_fields()
