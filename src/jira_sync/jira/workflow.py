"""Move an issue to a named status through whatever transitions its workflow needs.

Jira lists only the transitions available from the current status, and transition names
are not status names ("Start Progress" leads to "In Progress"), so the path is found one
step at a time: straight to the target when a transition goes there, else a step towards
it by status category (new < indeterminate < done), never revisiting a status. The choice
of step is the pure `choose_next()`; `move_to_status()` does the I/O.
"""
from __future__ import annotations

from typing import Any, Iterable

from .port import JiraPermanentError, JiraPort, StatusInfo, Transition

CATEGORY_RANK = {"new": 0, "indeterminate": 1, "done": 2}
RESOLUTION_PREFERENCE = ("done", "fixed")


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def transition_fields(t: Transition) -> tuple[dict[str, Any], list[str]]:
    """The fields we send with `t`, and the names of required fields we cannot fill.

    Transitions into a done status usually show a screen with `resolution` (required, or
    optional but left "Unresolved" if not sent); we pick Done, else Fixed, else the first
    value. Any other required field without a default needs a person.
    """
    fields: dict[str, Any] = {}
    missing: list[str] = []
    for field_id, meta in t.fields.items():
        required = bool(meta.get("required")) and not meta.get("hasDefaultValue")
        if field_id == "resolution" and (required or t.to_status_category == "done"):
            fields["resolution"] = {"name": _pick_resolution(meta.get("allowedValues") or [])}
        elif required:
            missing.append(f"{meta.get('name') or field_id} ({field_id})")
    return fields, missing


def _pick_resolution(allowed: list[dict[str, Any]]) -> str:
    names = [str(v.get("name")) for v in allowed if v.get("name")]
    for wanted in RESOLUTION_PREFERENCE:
        for name in names:
            if name.casefold() == wanted:
                return name
    return names[0] if names else "Done"


def choose_next(
    current_category: str,
    transitions: Iterable[Transition],
    target: str,
    target_category: str | None,
    visited: set[str],
) -> Transition | None:
    """The next transition towards the status named `target`, or None when there is none.

    Order: a transition straight to the target; then unvisited statuses ranked by
    (fillable fields first, category distance to the target's, forward before backward,
    Jira's own order). With the target's category unknown: forward before backward, the
    smallest step first (so an unknown "In Review" is not skipped by jumping to done).
    """
    options = list(transitions)
    for t in options:
        if _same(t.to_status_name, target):
            return t
    here = CATEGORY_RANK.get(current_category, 1)
    goal = CATEGORY_RANK.get(target_category or "")

    def rank(item: tuple[int, Transition]) -> tuple[int, int, int, int]:
        index, t = item
        there = CATEGORY_RANK.get(t.to_status_category, 1)
        unfillable = 1 if transition_fields(t)[1] else 0
        backward = 1 if there < here else 0
        if goal is None:
            return (unfillable, backward, abs(there - here), index)
        return (unfillable, abs(there - goal), backward, index)

    fresh = [(i, t) for i, t in enumerate(options) if t.to_status_id not in visited]
    return min(fresh, key=rank)[1] if fresh else None


async def move_to_status(
    jira: JiraPort,
    issue_id: str,
    target: str,
    *,
    statuses: list[StatusInfo] | None = None,
    max_steps: int = 8,
) -> list[str]:
    """Move `issue_id` to the status named `target`; return the transition names taken.

    Already there: [] and no write. Raises `JiraPermanentError` when the target is not in
    the workflow (per `statuses`), a step needs a field we cannot fill, or no path is found.
    """
    target_category = _target_category(statuses, target)
    state = await jira.get_issue(issue_id)
    if _same(state.status_name, target):
        return []
    visited, reached, taken = {state.status_id}, [state.status_name], []
    category = state.status_category
    for _ in range(max_steps):
        options = await jira.transitions(issue_id)
        step = choose_next(category, options, target, target_category, visited)
        if step is None:
            raise _no_path(target, reached, options)
        fields, missing = transition_fields(step)
        if missing:
            raise JiraPermanentError(
                f"Transition '{step.name}' (to '{step.to_status_name}') requires {', '.join(missing)}, "
                f"which jira-sync cannot fill; reaching '{target}' needs a person or a workflow change.")
        await jira.transition(issue_id, step.id, fields or None)
        taken.append(step.name)
        visited.add(step.to_status_id)
        reached.append(step.to_status_name)
        category = step.to_status_category
        if _same(step.to_status_name, target):
            return taken
    raise JiraPermanentError(
        f"Gave up moving to '{target}' after {max_steps} transitions; reached: {' -> '.join(reached)}.")


def _target_category(statuses: list[StatusInfo] | None, target: str) -> str | None:
    """The target's category; fails before any write when the workflow has no such status."""
    if statuses is None:
        return None
    match = next((s for s in statuses if _same(s.name, target)), None)
    if match is None:
        names = ", ".join(s.name for s in statuses)
        raise JiraPermanentError(f"Status '{target}' is not in this issue type's workflow (it has: {names}).")
    return match.category


def _no_path(target: str, reached: list[str], options: list[Transition]) -> JiraPermanentError:
    available = ", ".join(f"'{t.name}' -> '{t.to_status_name}'" for t in options) or "none"
    return JiraPermanentError(
        f"No transition path to '{target}': reached {' -> '.join(reached)}; "
        f"transitions available from '{reached[-1]}': {available}.")
