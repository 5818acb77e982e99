"""What the console and the REST API look up in Jira while an integration is being set up.

Each look-up takes a `SetupJira` for the connection being configured, so it works before
anything is saved. Answers are plain dicts, ready for JSON and for templates.
`check_connection` turns every way step 1 can fail into one plain sentence and a `problem`
code: unreachable, tls, timeout, not_jira, wrong_platform, bad_credentials,
token_expired_or_revoked, captcha_required, forbidden.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..domain.integration import (
    CHINESE_STATUSES,
    DEFAULT_STATUSES,
    JiraConnection,
    JiraPlatform,
    FieldMapping,
    StatusMapping,
)
from ..domain.mapping import may_be_empty, source_text
from ..domain.priorities import default_severity_priorities
from ..jira.port import FieldMeta, JiraAuthError, JiraConnectError, JiraError, SetupJira, StatusInfo
from ..jira.site import platform_mismatch

# filled by Jira or by every create jira-sync sends
ALWAYS_SET = frozenset({"project", "issuetype", "summary", "description", "reporter"})


@dataclass
class ConnectionResult:
    ok: bool
    problem: str | None = None  # a code from the module docstring
    message: str = ""
    deployment: str | None = None  # "Cloud" | "Server" | "DataCenter"
    version: str | None = None
    account: str | None = None  # display name of the authenticated user
    api_route: str | None = None  # Cloud: "site", or "gateway" for a scoped token / service account

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def check_connection(conn: JiraConnection, jira: SetupJira, *, worked_before: bool = False) -> ConnectionResult:
    """`worked_before`: these exact credentials were accepted earlier (a saved integration's).
    A 401 then means the token expired or was revoked (jira.md: Cloud tokens expire within a
    year), and the person is told exactly that instead of "wrong credentials"."""
    try:
        info = await jira.server_info()
        mismatch = platform_mismatch(info, conn.platform, conn.url)
        if mismatch is not None:
            return ConnectionResult(False, "wrong_platform", mismatch[0].upper() + mismatch[1:],
                                    info.deployment_type, info.version)
        me = await jira.myself()
    except JiraAuthError as exc:
        if worked_before and exc.reason == "bad_credentials":
            what = "API token" if conn.platform is JiraPlatform.CLOUD else (
                "personal access token" if conn.auth.value == "pat" else "password")
            return ConnectionResult(False, "token_expired_or_revoked",
                                    f"Jira refused the stored {what}, which it accepted before: it has expired or was "
                                    f"revoked (or the password was changed). Enter a new {what}.")
        return ConnectionResult(False, exc.reason, exc.message)
    except JiraConnectError as exc:
        return ConnectionResult(False, exc.reason, exc.message)
    except JiraError as exc:
        return ConnectionResult(False, "jira_error", f"Jira answered: {exc.message}")
    note = jira.route_note()
    message = f"Signed in to Jira {info.deployment_type} {info.version} as {me.display_name}." + (f" {note}" if note else "")
    route = ("gateway" if note else "site") if conn.platform is JiraPlatform.CLOUD else None
    return ConnectionResult(True, None, message, info.deployment_type, info.version, me.display_name, route)


async def projects(jira: SetupJira, query: str = "", limit: int = 50) -> list[dict[str, str]]:
    return [{"id": p.id, "key": p.key, "name": p.name} for p in await jira.projects(query.strip(), limit)]


async def issue_types(jira: SetupJira, project: str) -> list[dict[str, Any]]:
    return [{"id": t.id, "name": t.name, "subtask": t.subtask} for t in await jira.issue_types(project)]


@dataclass
class Screen:
    """An issue type's create screen, as the configuration step needs it."""

    fields: list[FieldMeta]

    @property
    def priority(self) -> FieldMeta | None:
        return next((f for f in self.fields if f.id == "priority"), None)

    def priorities(self) -> dict[str, Any]:
        f = self.priority
        if f is None:
            return {"available": False, "priorities": [], "defaults": {},
                    "reason": "This issue type has no Priority field on its create screen, so severity cannot be "
                              "mapped. Pick another issue type, or add Priority to the screen in Jira."}
        values = [{"id": str(v.get("id")), "name": str(v.get("name", v.get("id")))} for v in f.allowed_values]
        defaults = default_severity_priorities([(v["id"], v["name"]) for v in values])
        return {"available": True, "priorities": values, "defaults": defaults, "reason": None}

    def text_fields(self) -> list[dict[str, str]]:
        return [{"id": f.id, "name": f.name, "kind": f.text_kind} for f in self.fields if f.text_kind]

    @property
    def labels_on_screen(self) -> bool:
        return any(f.id == "labels" for f in self.fields)

    def required_fields(self) -> list[dict[str, Any]]:
        """Required fields jira-sync does not fill by itself (summary, description... excluded)."""
        return [{"id": f.id, "name": f.name, "has_default": f.has_default, "text": bool(f.text_kind)}
                for f in self.fields if f.required and f.id not in ALWAYS_SET]

    def unfilled_required(self, mapped_targets: set[str], priority_mapped: bool) -> list[dict[str, Any]]:
        """Required fields without a default that the configuration leaves empty: creation would fail."""
        filled = set(mapped_targets) | ({"priority"} if priority_mapped else set())
        return [f for f in self.required_fields() if not f["has_default"] and f["id"] not in filled]


    def required_gaps(self, field_map: list[FieldMapping], priority_mapped: bool) -> list[dict[str, Any]]:
        """Required fields (without a Jira default) that creating would leave empty for some
        incidents: unmapped ones (`mapping` None), and ones mapped only from a value some incidents
        lack, such as a label, without a default value (`mapping`: the index of the first such
        mapping in `field_map`, `source`: what it reads)."""
        gaps = []
        for f in self.unfilled_required(set(), priority_mapped):
            mapped = [(i, m) for i, m in enumerate(field_map) if m.target == f["id"]]
            if not mapped:
                gaps.append({**f, "mapping": None, "source": None})
            elif all(may_be_empty(m) for _, m in mapped):
                gaps.append({**f, "mapping": mapped[0][0], "source": source_text(mapped[0][1])})
        return gaps


async def screen(jira: SetupJira, project: str, issue_type_id: str) -> Screen:
    return Screen(await jira.create_fields(project, issue_type_id))


def default_statuses(statuses: list[StatusInfo]) -> tuple[StatusMapping, str]:
    """The default mapping for a workflow: Chinese names where the workflow has them and not the English ones."""
    known = {s.name.casefold() for s in statuses}

    def complete(m: StatusMapping) -> bool:
        return all(name.casefold() in known for name in (m.triggered, m.processing, m.closed))

    if complete(CHINESE_STATUSES) and not complete(DEFAULT_STATUSES):
        return CHINESE_STATUSES, "zh"
    return DEFAULT_STATUSES, "en"


async def statuses(jira: SetupJira, project: str, issue_type_id: str) -> dict[str, Any]:
    found = await jira.statuses(project, issue_type_id)
    defaults, language = default_statuses(found)
    names = {s.name.casefold(): s.name for s in found}
    return {
        "statuses": [{"id": s.id, "name": s.name, "category": s.category} for s in found],
        # a default that is not in this workflow is left empty, for the person to choose
        "defaults": {k: names.get(v.casefold(), "") for k, v in defaults.model_dump().items()},
        "language": language,
    }
