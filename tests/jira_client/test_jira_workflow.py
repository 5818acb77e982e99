"""Moving an issue through a workflow: the pure step choice (a table) and the walk (an in-memory port)."""
from __future__ import annotations

from typing import Any

import pytest

from jira_sync.jira.port import IssueState, JiraPermanentError, StatusInfo, Transition
from jira_sync.jira.workflow import choose_next, move_to_status, transition_fields

RESOLUTION = {"resolution": {"required": True, "name": "Resolution",
                             "allowedValues": [{"name": "Won't Do"}, {"name": "Fixed"}, {"name": "Done"}]}}


def t(tid: str, name: str, to_id: str, to_name: str, category: str, fields: dict[str, Any] | None = None) -> Transition:
    return Transition(tid, name, to_id, to_name, category, fields or {})


TRIAGE = t("11", "Triage", "2", "Triage", "indeterminate")
START = t("21", "Start Progress", "3", "In Progress", "indeterminate")
WONT = t("91", "Won't do", "9", "Closed", "done")
RESOLVE = t("31", "Resolve", "4", "Resolved", "done", RESOLUTION)
REOPEN = t("41", "Reopen", "1", "Open", "new")
BACKLOG = t("51", "Back to backlog", "8", "Backlog", "new")
NEEDS_CUSTOMER = t("61", "Escalate", "7", "Escalated", "indeterminate",
                   {"customfield_1": {"required": True, "name": "Customer"}})


@pytest.mark.parametrize(
    "current, options, target, target_category, visited, expected",
    [
        ("new", [TRIAGE, START], "in progress", "indeterminate", set(), START),  # direct, case-insensitive
        ("new", [WONT, TRIAGE], "Resolved", "done", set(), WONT),  # same category as the target first
        ("new", [WONT, TRIAGE], "In Review", "indeterminate", set(), TRIAGE),  # do not overshoot into done
        ("indeterminate", [REOPEN, RESOLVE], "Closed", "done", set(), RESOLVE),
        ("done", [REOPEN, TRIAGE], "In Progress", "indeterminate", set(), TRIAGE),
        ("done", [REOPEN], "In Progress", "indeterminate", set(), REOPEN),  # back first when that is the way
        ("indeterminate", [BACKLOG, REOPEN], "Open", "new", set(), REOPEN),
        ("new", [TRIAGE], "Closed", "done", {"2"}, None),  # never revisit
        ("new", [NEEDS_CUSTOMER, TRIAGE], "Done", "done", set(), TRIAGE),  # fillable before unfillable
        ("new", [NEEDS_CUSTOMER], "Done", "done", set(), NEEDS_CUSTOMER),  # ... but still the only way
        ("new", [WONT, TRIAGE], "In Review", None, set(), TRIAGE),  # unknown target: smallest forward step
        ("indeterminate", [BACKLOG, RESOLVE], "Mystery", None, set(), RESOLVE),  # unknown: forward first
        ("new", [], "Done", "done", set(), None),
    ],
)
def test_choose_next(current, options, target, target_category, visited, expected):
    assert choose_next(current, options, target, target_category, visited) == expected


@pytest.mark.parametrize(
    "transition, fields, missing",
    [
        (RESOLVE, {"resolution": {"name": "Done"}}, []),
        (t("1", "r", "4", "R", "done", {"resolution": {"required": True, "allowedValues": [{"name": "Fixed"}, {"name": "Dup"}]}}),
         {"resolution": {"name": "Fixed"}}, []),
        (t("1", "r", "4", "R", "done", {"resolution": {"required": True, "allowedValues": [{"name": "Gelöst"}]}}),
         {"resolution": {"name": "Gelöst"}}, []),
        (t("1", "r", "4", "R", "done", {"resolution": {"required": False, "allowedValues": [{"name": "Done"}]}}),
         {"resolution": {"name": "Done"}}, []),  # optional, but done without resolution stays "Unresolved"
        (t("1", "r", "3", "P", "indeterminate", {"resolution": {"required": False}}), {}, []),
        (NEEDS_CUSTOMER, {}, ["Customer (customfield_1)"]),
        (t("1", "r", "3", "P", "indeterminate", {"assignee": {"required": True, "hasDefaultValue": True}}), {}, []),
    ],
)
def test_transition_fields(transition, fields, missing):
    assert transition_fields(transition) == (fields, missing)


class Workflow:
    """A tiny JiraPort stand-in: statuses, transitions per status, the issue's current status."""

    STATUSES = {"1": ("Open", "new"), "2": ("Triage", "indeterminate"), "3": ("In Progress", "indeterminate"),
                "4": ("Resolved", "done"), "5": ("Closed", "done")}
    EDGES = {"1": [TRIAGE], "2": [START, REOPEN], "3": [RESOLVE, TRIAGE],
             "4": [t("51", "Close", "5", "Closed", "done"), REOPEN], "5": [REOPEN]}

    def __init__(self, status: str = "1") -> None:
        self.status = status
        self.posted: list[tuple[str, dict[str, Any] | None]] = []

    def status_infos(self) -> list[StatusInfo]:
        return [StatusInfo(i, n, c) for i, (n, c) in self.STATUSES.items()]

    async def get_issue(self, id_or_key: str) -> IssueState:
        name, category = self.STATUSES[self.status]
        return IssueState("100", "FLOW-1", self.status, name, category, None)

    async def transitions(self, issue_id: str) -> list[Transition]:
        return list(self.EDGES[self.status])

    async def transition(self, issue_id: str, transition_id: str, fields: dict[str, Any] | None = None) -> None:
        chosen = next(x for x in self.EDGES[self.status] if x.id == transition_id)
        missing = [f for f, m in chosen.fields.items() if m.get("required") and f not in (fields or {})]
        assert not missing, f"Jira would answer 400: {missing} required"
        self.posted.append((transition_id, fields))
        self.status = chosen.to_status_id


async def test_walks_several_steps_and_fills_resolution():
    flow = Workflow("1")
    taken = await move_to_status(flow, "100", "closed", statuses=flow.status_infos())
    assert taken == ["Triage", "Start Progress", "Resolve", "Close"]
    assert flow.status == "5"
    assert flow.posted[2] == ("31", {"resolution": {"name": "Done"}})


async def test_reopen_goes_backwards_when_it_must():
    flow = Workflow("5")
    assert await move_to_status(flow, "100", "In Progress", statuses=flow.status_infos()) == \
        ["Reopen", "Triage", "Start Progress"]


async def test_already_there_makes_no_write():
    flow = Workflow("3")
    assert await move_to_status(flow, "100", "IN PROGRESS") == []
    assert flow.posted == []


async def test_works_without_statuses():
    flow = Workflow("1")
    assert await move_to_status(flow, "100", "Resolved") == ["Triage", "Start Progress", "Resolve"]


async def test_unknown_target_status_fails_before_any_write():
    flow = Workflow("1")
    with pytest.raises(JiraPermanentError, match="'Done' is not in this issue type's workflow"):
        await move_to_status(flow, "100", "Done", statuses=flow.status_infos())
    assert flow.posted == []


async def test_no_path_says_where_it_got_stuck():
    flow = Workflow("1")
    flow.EDGES = {**Workflow.EDGES, "2": [REOPEN]}  # Triage leads only back to Open
    with pytest.raises(JiraPermanentError) as err:
        await move_to_status(flow, "100", "Closed", statuses=flow.status_infos())
    assert "reached Open -> Triage" in err.value.message
    assert "'Reopen' -> 'Open'" in err.value.message


async def test_required_field_it_cannot_fill_is_named():
    flow = Workflow("1")
    flow.EDGES = {**Workflow.EDGES, "1": [t("71", "Triage", "2", "Triage", "indeterminate",
                                             {"customfield_1": {"required": True, "name": "Customer"}})]}
    with pytest.raises(JiraPermanentError, match=r"requires Customer \(customfield_1\)"):
        await move_to_status(flow, "100", "Closed", statuses=flow.status_infos())
    assert flow.posted == []


async def test_gives_up_after_max_steps():
    flow = Workflow("1")
    with pytest.raises(JiraPermanentError, match="after 2 transitions"):
        await move_to_status(flow, "100", "Closed", statuses=flow.status_infos(), max_steps=2)
