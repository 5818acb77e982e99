"""What the configuration step learns from Jira for the form, and the defaults it fills in.

`load` asks Jira about the chosen project and issue type (issue types, create screen,
workflow statuses), and keeps the answer a few minutes for the form's other actions; `fill_defaults` pre-selects priorities by name and the workflow's
default statuses for a project chosen just now; `match_result` answers "would this sample
incident be synced?"; `meta_for` is the `jira_meta` a save would store, for the preview.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Hashable

from ..domain.conditions import ConditionError, explain
from ..domain.jira_meta import JiraMeta
from ..expiring import Expiring
from ..jira.port import JiraAuthError, JiraPermanentError, SetupJira
from ..setup import lookups as metadata
from ..setup.preview import parse_sample
from .setup_form import PROGRESSES, SetupForm


@dataclass
class Loaded:
    """What Jira says about the chosen project and issue type."""

    project: Any = None
    project_matches: list[dict[str, str]] = field(default_factory=list)
    issue_types: list[dict[str, Any]] = field(default_factory=list)
    screen: metadata.Screen | None = None
    statuses: dict[str, Any] | None = None
    error: str | None = None


async def load(jira: SetupJira, f: SetupForm, answers: Expiring[Loaded], *, account: Hashable, search: bool,
               fresh: bool) -> Loaded:
    """What Jira says about the form's project and issue type (which it resolves in `f`).

    Adding a condition or a field mapping re-renders the whole form, and each render used to
    ask Jira four times (project, issue types, create screen, statuses): `answers` keeps what
    Jira said a few minutes. `account` names who asks (`JiraConnection.account_key`); unless
    `fresh` (choosing a project or issue type, "Load project", opening the form) or `search`,
    a recent answer for the same account, project and issue type is used again."""
    if not (fresh or search):
        known = answers.get((account, f.project, f.issue_type))
        if known is not None:
            return known
    out = await _ask(jira, f, search)
    if out.screen is not None and out.error is None:
        answers.put((account, f.project, f.issue_type), replace(out, project_matches=[]))
    return out


async def _ask(jira: SetupJira, f: SetupForm, search: bool) -> Loaded:
    out = Loaded()
    if search or not f.project:
        out.project_matches = await metadata.projects(jira, f.project if search else "", 50)
        if not f.project:
            return out
    try:
        out.project = await jira.project(f.project)
    except JiraAuthError:
        raise  # the account, not the project: shown as such by the caller
    except JiraPermanentError:  # 404, or 400 for a key Jira cannot even parse
        out.error = f"Project {f.project!r} does not exist or this account cannot see it."
        out.project_matches = out.project_matches or await metadata.projects(jira, f.project, 50)
        return out
    f.project = out.project.key
    out.issue_types = await metadata.issue_types(jira, out.project.key)
    ids = [t["id"] for t in out.issue_types]
    by_name = {t["name"].casefold(): t["id"] for t in out.issue_types}
    if f.issue_type not in ids:
        f.issue_type = by_name.get(f.issue_type.casefold()) or next(
            (t["id"] for t in out.issue_types if not t["subtask"]), ids[0] if ids else "")
    if not f.issue_type:
        out.error = f"This account cannot create any issue type in {out.project.key}."
        return out
    out.screen = await metadata.screen(jira, out.project.key, f.issue_type)
    out.statuses = await metadata.statuses(jira, out.project.key, f.issue_type)
    return out


def fill_defaults(f: SetupForm, loaded: Loaded, first_load: bool) -> None:
    """Defaults for a newly loaded project / issue type; choices Jira no longer offers are dropped."""
    if loaded.screen is None or loaded.statuses is None:
        return
    prio = loaded.screen.priorities()
    ids = {p["id"] for p in prio["priorities"]}
    f.severity = {s: v for s, v in f.severity.items() if v in ids}
    if first_load and not f.severity and prio["available"]:
        f.severity = dict(prio["defaults"])  # by the site's priority names (domain/priorities.py)
    names = {s["name"] for s in loaded.statuses["statuses"]}
    for key, _ in PROGRESSES:
        if f.statuses.get(key) not in names:
            f.statuses[key] = loaded.statuses["defaults"].get(key, "")
    f.statuses = {k: v for k, v in f.statuses.items() if v}


def match_result(f: SetupForm) -> dict[str, Any]:
    try:
        channels = f.channel_ids()
    except ValueError as exc:  # said at the Channels field, not here among the conditions
        return {"channels_error": str(exc), "note": "Fix the channel ids (at Channels) to check the sample."}
    try:
        snap = parse_sample(f.sample)
    except ValueError as exc:
        return {"error": str(exc)}
    if channels and snap.channel_id not in channels:
        return {"matched": False, "reason": f"Its channel ({snap.channel_id}) is not one of the chosen channels.", "groups": []}
    if f.trigger == "manual":
        return {"matched": True, "groups": [],
                "reason": "Manual trigger: it is synced when someone clicks the Custom Action on it."}
    try:
        groups = explain(f.conditions(), snap)
    except ConditionError as exc:
        return {"error": f"Conditions: {exc}"}
    if not groups:
        return {"matched": True, "reason": "No condition: every incident of the chosen channels is synced.", "groups": []}
    matched = any(all(ok for _, ok in g) for g in groups)
    return {"matched": matched, "reason": "", "groups": groups}


def meta_for(loaded: Loaded, f: SetupForm) -> JiraMeta:
    """The `jira_meta` a check would store, from what was just loaded (for the preview)."""
    screen = loaded.screen
    assert screen is not None
    return JiraMeta(
        project_key=f.project,
        issue_type_id=f.issue_type,
        priority_on_screen=screen.priority is not None,
        labels_on_screen=screen.labels_on_screen,
        text_fields={t["id"]: t["kind"] for t in screen.text_fields()},
        priorities={p["id"]: p["name"] for p in screen.priorities()["priorities"]},
    )
