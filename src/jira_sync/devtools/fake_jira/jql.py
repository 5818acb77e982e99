"""The JQL subset a sync needs, parsed strictly; anything else is a 400 as Jira gives.

Supported clauses, joined with AND (OR and parentheses are a 400):
- `project`, `labels`, `issuetype` (`type`), `status`, `key` (`issuekey`, `issue`, `id`):
  `=`, `!=`, `in (...)`, `not in (...)`;
- `created`, `updated` (`createdDate`, `updatedDate`): `=`, `!=`, `>`, `>=`, `<`, `<=` against
  "yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm", "yyyy/MM/dd", "yyyy-MM-dd" (minute precision, read
  in the site's time zone: UTC, the seeded users' zone) or a period such as `-15m`, `-1d`, `-4w 2d`
  (relative to now). Like Jira, the literal is an instant: `updated <= "2024/05/01"` means up to
  2024-05-01 00:00, and `updated > "2024/05/01 12:00"` includes 12:00:30.
- optional `ORDER BY created|updated|key|id [ASC|DESC], ...` (default: created DESC).
Keywords and field names are case-insensitive; values quoted ("x" or 'x') or bare. A key or id
that names no issue is a 400, as Jira answers.

Searches evaluate clauses against `Doc` snapshots (see `index.py`), so a lagging index sees an
issue as it was.
"""
from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from .model import Doc, Issue, JiraHTTPError

if TYPE_CHECKING:
    from .state import FakeJira

_TOKEN = re.compile(r"""\s*(?:("(?:[^"\\]|\\.)*")|('(?:[^'\\]|\\.)*')|(!=|>=|<=|=|>|<|\(|\)|,)|([^\s=!<>(),"']+))""")
FIELDS = {"project": "project", "labels": "labels", "issuetype": "issuetype", "type": "issuetype",
          "key": "key", "issuekey": "key", "issue": "key", "id": "key", "status": "status",
          "created": "created", "createddate": "created", "updated": "updated", "updateddate": "updated"}
DATE_FIELDS = {"created", "updated"}
ORDER_FIELDS = {"created", "updated", "key", "issuekey", "id"}
COMPARISONS = {">", ">=", "<", "<="}
_KEY = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_PERIOD = re.compile(r"^([+-]?)((?:\d+[wdhm]\s*)+)$")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}
DATE_FORMATS = ("'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
                "or a period format e.g. '-5d', '4w 2d'")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    op: str  # "=", "!=", "in", "not in", ">", ">=", "<", "<="
    values: tuple[str, ...]

    @property
    def negated(self) -> bool:
        return self.op in ("!=", "not in")


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
        if i >= len(toks) or (not toks[i][1] and toks[i][0] in ("(", ")", ",", "=", "!=", ">", ">=", "<", "<=")):
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
        name, _quoted = toks[i]
        if name == "(":
            raise _bad("Error in the JQL Query: parentheses are not supported by the Jira emulator.")
        field = FIELDS.get(name.lower())
        if field is None:
            raise _bad(f"Field '{name}' does not exist or you do not have permission to view it.")
        i += 1
        op = peek()
        if op == "not" and peek(1) == "in":
            op = "not in"
            i += 2
        elif op in ("in", "=", "!=") or (op in COMPARISONS and field in DATE_FIELDS):
            i += 1
        else:
            got = toks[i][0] if i < len(toks) else "<EOF>"
            allowed = "=, !=, >, >=, <, <=" if field in DATE_FIELDS else "=, !=, in, not in"
            raise _bad(f"Error in the JQL Query: The operator '{got}' is not supported by the Jira emulator "
                       f"for field '{name}' (use {allowed}).")
        if op in ("in", "not in"):
            if field in DATE_FIELDS:
                raise _bad(f"Error in the JQL Query: The operator '{op.upper()}' is not supported by the "
                           f"Jira emulator for field '{name}'.")
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
        if field in DATE_FIELDS:
            date_value(values[0], name, time.time())  # a bad date is a 400 at parse time
        clauses.append(Clause(field, op, tuple(values)))
    return Query(tuple(clauses), _order(toks, i))


def _order(toks: list[tuple[str, bool]], i: int) -> tuple[tuple[str, bool], ...]:
    def peek(at: int) -> str | None:
        return toks[at][0].lower() if at < len(toks) and not toks[at][1] else None

    order: list[tuple[str, bool]] = []
    if i >= len(toks):
        return ()
    if peek(i + 1) != "by":
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
        if peek(i) in ("asc", "desc"):
            desc = peek(i) == "desc"
            i += 1
        order.append(("key" if name == "issuekey" else name, desc))
        if peek(i) != ",":
            break
        i += 1
    if i < len(toks):
        raise _bad(f"Error in the JQL Query: Unexpected '{toks[i][0]}' after ORDER BY.")
    return tuple(order)


def date_value(text: str, field: str, now: float) -> float:
    """A JQL date literal as epoch seconds (UTC), or a 400 worded as Jira words it."""
    m = _DATE.match(text.strip())
    if m:
        y, mo, d, hh, mm = (int(g) if g else 0 for g in m.groups())
        try:
            if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and hh < 24 and mm < 60):
                raise ValueError
            return float(calendar.timegm((y, mo, d, hh, mm, 0, 0, 0, 0)))
        except ValueError:
            pass
    m = _PERIOD.match(text.strip())
    if m:
        seconds = sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([wdhm])", m.group(2)))
        return now - seconds if m.group(1) == "-" else now + seconds
    raise _bad(f"Date value '{text}' for field '{field}' is invalid. Valid formats include: {DATE_FORMATS}")


def run(query: Query, site: "FakeJira", doc_of: Callable[[Issue], Doc | None],
        extra: Iterable[str] = ()) -> list[Issue]:
    """Issues matching `query`, sorted. Uses the key/label/project indexes (never a full scan when
    one applies); `extra` adds issue ids the indexes may not hold (changed while the index lags)."""
    candidates: list[set[str]] | None = None  # the smallest index hit, as the index's own sets (no copies)
    preds: list[Callable[[Doc], bool]] = []
    now = site.now()
    for c in query.clauses:
        sets, pred = _clause(c, site, now)
        preds.append(pred)
        if sets is not None and not c.negated:
            if candidates is None or sum(map(len, sets)) < sum(map(len, candidates)):
                candidates = sets
    if candidates is None:
        ids: Iterable[str] = site.issues.keys()
    else:
        ids = dict.fromkeys([i for s in candidates for i in s] + list(extra))
    found: list[tuple[Issue, Doc]] = []
    for issue_id in ids:
        issue = site.issues.get(issue_id)
        doc = doc_of(issue) if issue is not None else None
        if doc is not None and all(p(doc) for p in preds):
            found.append((issue, doc))  # type: ignore[arg-type]
    for name, desc in reversed(query.order or (("created", True),)):
        found.sort(key=_sort_key(name), reverse=desc)
    return [issue for issue, _ in found]


def matches(query: Query, site: "FakeJira", issue: Issue) -> bool:
    """Whether the issue as it is now matches (webhook filters). A query naming a missing key matches nothing."""
    try:
        return all(_clause(c, site, site.now())[1](issue.snapshot()) for c in query.clauses)
    except JiraHTTPError:
        return False


def _sort_key(name: str) -> Callable[[tuple[Issue, Doc]], object]:
    if name == "key":
        return lambda pair: (pair[0].project.key, int(pair[0].key.rsplit("-", 1)[1]))
    if name == "updated":
        return lambda pair: (pair[1].updated, int(pair[0].id))
    return lambda pair: int(pair[0].id)  # created, id: ids grow with creation


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}


def _clause(c: Clause, site: "FakeJira", now: float) -> tuple[list[set[str]] | None, Callable[[Doc], bool]]:
    """(index sets holding every match, or None; the exact predicate on a snapshot)."""
    neg = c.negated
    if c.field in DATE_FIELDS:
        bound, compare, attr = date_value(c.values[0], c.field, now), _COMPARE[c.op], c.field
        return None, lambda d: compare(getattr(d, attr), bound)
    if c.field == "project":
        projects = set()
        for v in c.values:
            p = site.project_by_id_or_key(v)
            if p is None:
                raise _bad(f"The value '{v}' does not exist for the field 'project'.")
            projects.add(p.id)
        return [site.ids_by_project[p] for p in projects], lambda d: (d.project_id in projects) != neg
    if c.field == "labels":
        wanted = frozenset(c.values)
        sets = [site.ids_by_label.get(v, set()) for v in wanted]
        return sets, lambda d: bool(wanted & d.labels) != neg
    if c.field == "issuetype":
        types = set()
        for v in c.values:
            match = {t.id for p in site.projects for t in p.issue_types.values()
                     if v == t.id or v.lower() == t.name.lower()}
            if not match:
                raise _bad(f"The value '{v}' does not exist for the field 'issuetype'.")
            types |= match
        return None, lambda d: (d.issue_type_id in types) != neg
    if c.field == "status":
        names = {v.lower() for v in c.values}
        known = {s.name.lower() for p in site.projects for s in p.workflow.statuses} | {
            s.id for p in site.projects for s in p.workflow.statuses}
        for v in c.values:
            if v.lower() not in known:
                raise _bad(f"The value '{v}' does not exist for the field 'status'.")
        return None, lambda d: (d.status_name in names or d.status_id in names) != neg
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
    return [ids], lambda d: (d.id in ids) != neg
