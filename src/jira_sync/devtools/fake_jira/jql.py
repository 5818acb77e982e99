"""The JQL subset a sync needs, parsed strictly; anything else is a 400 as Jira gives.

Supported: clauses `field = value`, `field != value`, `field in (v, ...)`, `field not in (...)`
on project, labels, issuetype (type), key (issuekey), id, status; joined with AND;
optional `ORDER BY created|updated|key|id [ASC|DESC], ...`. Keywords and field names are
case-insensitive; values quoted ("x" or 'x') or bare.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from .model import Issue, JiraHTTPError

if TYPE_CHECKING:
    from .state import FakeJira

_TOKEN = re.compile(r"""\s*(?:("(?:[^"\\]|\\.)*")|('(?:[^'\\]|\\.)*')|(!=|=|\(|\)|,)|([^\s=!(),"']+))""")
FIELDS = {"project": "project", "labels": "labels", "issuetype": "issuetype", "type": "issuetype",
          "key": "key", "issuekey": "key", "id": "key", "status": "status"}
ORDER_FIELDS = {"created", "updated", "key", "issuekey", "id"}
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    negated: bool
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)


def _bad(msg: str) -> JiraHTTPError:
    return JiraHTTPError(400, [msg])


def _tokens(jql: str) -> list[tuple[str, bool]]:
    """(text, quoted) tokens."""
    out: list[tuple[str, bool]] = []
    pos, end = 0, len(jql.rstrip())
    while pos < end:
        m = _TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            raise _bad(f"Error in the JQL Query: The character '{jql[pos]}' is a reserved JQL character. "
                       f"You must enclose it in a string or use the escape '\\u{ord(jql[pos]):04x}' instead. "
                       f"(line 1, character {pos + 1})")
        quoted = m.group(1) or m.group(2)
        if quoted:
            out.append((re.sub(r"\\(.)", r"\1", quoted[1:-1]), True))
        else:
            out.append((m.group(3) or m.group(4), False))
        pos = m.end()
    return out


def parse(jql: str) -> Query:
    toks = _tokens(jql)
    i = 0

    def peek(offset: int = 0) -> str | None:
        return toks[i + offset][0].lower() if i + offset < len(toks) and not toks[i + offset][1] else None

    def take_value() -> str:
        nonlocal i
        if i >= len(toks) or (not toks[i][1] and toks[i][0] in "(),="):
            raise _bad("Error in the JQL Query: Expecting either a value, list or function but got "
                       f"'{toks[i][0] if i < len(toks) else '<EOF>'}'.")
        i += 1
        return toks[i - 1][0]

    clauses: list[Clause] = []
    while i < len(toks) and peek() != "order":
        if clauses:
            if peek() != "and":
                word = toks[i][0]
                if word.lower() == "or":
                    raise _bad("Error in the JQL Query: OR is not supported by the Jira emulator (only AND).")
                raise _bad(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{word}'.")
            i += 1
        if i >= len(toks):
            raise _bad("Error in the JQL Query: Expecting a field name but got the end of the query.")
        name, quoted = toks[i]
        if name == "(":
            raise _bad("Error in the JQL Query: parentheses are not supported by the Jira emulator.")
        field = FIELDS.get(name.lower())
        if field is None:
            raise _bad(f"Field '{name}' does not exist or you do not have permission to view it.")
        i += 1
        op = peek()
        if op == "not" and peek(1) == "in":
            negated, is_list = True, True
            i += 2
        elif op in ("in", "=", "!="):
            negated, is_list = op == "!=", op == "in"
            i += 1
        else:
            got = toks[i][0] if i < len(toks) else "<EOF>"
            raise _bad(f"Error in the JQL Query: The operator '{got}' is not supported by the Jira emulator "
                       f"for field '{name}' (use =, !=, in, not in).")
        if is_list:
            if peek() != "(":
                raise _bad("Error in the JQL Query: Expecting '(' after IN.")
            i += 1
            values = [take_value()]
            while peek() == ",":
                i += 1
                values.append(take_value())
            if peek() != ")":
                raise _bad("Error in the JQL Query: Expecting ')' to close the list.")
            i += 1
        else:
            values = [take_value()]
        clauses.append(Clause(field, negated, tuple(values)))
    order: list[tuple[str, bool]] = []
    if i < len(toks):
        if peek(1) != "by":
            raise _bad("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
        i += 2
        while True:
            if i >= len(toks):
                raise _bad("Error in the JQL Query: Expecting a field name after ORDER BY.")
            name = toks[i][0].lower()
            if name not in ORDER_FIELDS:
                raise _bad(f"Not able to sort using field '{toks[i][0]}' in the Jira emulator.")
            i += 1
            desc = False
            if peek() in ("asc", "desc"):
                desc = peek() == "desc"
                i += 1
            order.append(("key" if name == "issuekey" else name, desc))
            if peek() != ",":
                break
            i += 1
        if i < len(toks):
            raise _bad(f"Error in the JQL Query: Unexpected '{toks[i][0]}' after ORDER BY.")
    return Query(tuple(clauses), tuple(order))


def run(query: Query, site: "FakeJira", visible: Callable[[Issue], bool]) -> list[Issue]:
    """Issues matching `query`, sorted; uses the key/label/project indexes, never a full scan when one applies."""
    candidates: list[set[str]] | None = None  # the smallest index hit, as the index's own sets (no copies)
    preds: list[Callable[[Issue], bool]] = []
    for c in query.clauses:
        sets, pred = _clause(c, site)
        preds.append(pred)
        if sets is not None and not c.negated:
            if candidates is None or sum(map(len, sets)) < sum(map(len, candidates)):
                candidates = sets
    pool: Iterable[Issue] = (
        site.issues.values() if candidates is None
        else (site.issues[i] for i in dict.fromkeys(i for s in candidates for i in s) if i in site.issues)
    )
    found = [iss for iss in pool if visible(iss) and all(p(iss) for p in preds)]
    order = query.order or (("created", True),)
    for name, desc in reversed(order):
        found.sort(key=_sort_key(name), reverse=desc)
    return found


def _sort_key(name: str) -> Callable[[Issue], object]:
    if name == "key":
        return lambda iss: (iss.project.key, int(iss.key.rsplit("-", 1)[1]))
    if name == "updated":
        return lambda iss: (iss.updated, int(iss.id))
    return lambda iss: int(iss.id)  # created, id: ids grow with creation


def _clause(c: Clause, site: "FakeJira") -> tuple[list[set[str]] | None, Callable[[Issue], bool]]:
    """(index sets holding every match, or None; the exact predicate)."""
    neg = c.negated
    if c.field == "project":
        projects = set()
        for v in c.values:
            p = site.project_by_id_or_key(v)
            if p is None:
                raise _bad(f"The value '{v}' does not exist for the field 'project'.")
            projects.add(p.id)
        return [site.ids_by_project[p] for p in projects], lambda iss: (iss.project.id in projects) != neg
    if c.field == "labels":
        wanted = set(c.values)
        sets = [site.ids_by_label.get(v, set()) for v in wanted]
        return sets, lambda iss: bool(wanted.intersection(iss.fields.get("labels") or ())) != neg
    if c.field == "issuetype":
        types = set()
        for v in c.values:
            match = {t.id for p in site.projects for t in p.issue_types.values()
                     if v == t.id or v.lower() == t.name.lower()}
            if not match:
                raise _bad(f"The value '{v}' does not exist for the field 'issuetype'.")
            types |= match
        return None, lambda iss: (iss.issue_type.id in types) != neg
    if c.field == "status":
        names = {v.lower() for v in c.values}
        known = {s.name.lower() for p in site.projects for s in p.workflow.statuses} | {
            s.id for p in site.projects for s in p.workflow.statuses}
        for v in c.values:
            if v.lower() not in known:
                raise _bad(f"The value '{v}' does not exist for the field 'status'.")
        return None, lambda iss: (iss.status.name.lower() in names or iss.status.id in names) != neg
    ids = set()
    for v in c.values:
        if v.isdigit():
            issue = site.issues.get(v)
        elif _KEY.match(v):
            issue = site.issue_by_key(v)
        else:
            raise _bad(f"The issue key '{v}' for field 'key' is invalid.")
        if issue is None:
            raise _bad(f"An issue with key '{v}' does not exist for field 'key'.")
        ids.add(issue.id)
    return [ids], lambda iss: (iss.id in ids) != neg
