"""Flashduty's filter-condition language, used by automatic triggers.

Groups are ORed, conditions inside a group ANDed (reference/flashduty.md §4).
JSON form: [[{"key": "labels.service", "oper": "IN", "vals": ["billing"]}], [...]]

API
---
``compile_conditions(groups) -> Callable[[IncidentSnapshot], bool]``
    Validates once and precompiles regexes, wildcards, CIDRs and numbers; the returned
    function is what the webhook ingest path should call. Raises ``ConditionError``.
``validate_conditions(groups) -> None``
    The same checks, for saving a configuration.
``matches(groups, incident) -> bool``
    Convenience: compiles through an LRU cache keyed by the conditions' content.
``format_conditions(groups) -> str``
    ``(severity IN Critical|Warning AND labels.check IN "Binlog Sync Delay") OR (...)``.
``groups`` may hold ``Condition`` models or their JSON dicts.

Semantics
---------
- Keys: severity, title, description, progress, channel_id, channel_name, incident_id,
  labels.<name>, fields.<name>. A field's values are its non-empty string forms (custom
  field values: str(); true/false for booleans; JSON for objects; every element of a list).
  "" (and channel_id 0) means the field is missing.
- IN: some value of the field matches some value of the list. NOTIN: none does. So on a
  missing field IN never matches and NOTIN always matches.
- Value forms: ``/re/`` RE2 search (unanchored); ``*`` and ``?`` wildcards (full match,
  case-sensitive; ``*`` alone = field present); ``cidr:<network>`` (IPv4/IPv6, host bits
  allowed); ``num:gt|ge|lt|le|eq:<number>`` (values that are not numbers never match);
  anything else: exact, case-sensitive string equality.
- An empty list of groups matches every incident. An empty *group* is rejected: it would
  also match everything, which is far more likely a mistake than an intention.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import math
import operator
import re
from typing import Any, Callable, Iterable, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .incident import IncidentSnapshot

__all__ = [
    "Condition",
    "ConditionError",
    "ConditionGroups",
    "IncidentMatcher",
    "compile_conditions",
    "format_conditions",
    "matches",
    "validate_conditions",
]


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    oper: Literal["IN", "NOTIN"]
    vals: list[str] = Field(min_length=1)


ConditionGroups = list[list[Condition]]
IncidentMatcher = Callable[[IncidentSnapshot], bool]


class ConditionError(ValueError):
    """A condition cannot be used; the message names the group, the key and the bad value."""


# ================================================================ public API
def compile_conditions(groups: Iterable[Iterable[Condition | dict[str, Any]]] | None) -> IncidentMatcher:
    """Validate `groups` and return a fast predicate over incident snapshots."""
    compiled = [
        [_compile_at(cond, gi, ci) for ci, cond in enumerate(group, start=1)]
        for gi, group in enumerate(_coerce(groups), start=1)
    ]
    if not compiled:
        return _match_all
    if len(compiled) == 1 and len(compiled[0]) == 1:
        return compiled[0][0]  # the common single-condition case: no extra call layers

    def match(incident: IncidentSnapshot) -> bool:
        return any(all(cond(incident) for cond in group) for group in compiled)

    return match


def validate_conditions(groups: Iterable[Iterable[Condition | dict[str, Any]]] | None) -> None:
    """Raise ConditionError if any condition is unusable."""
    compile_conditions(groups)


def matches(groups: ConditionGroups, incident: IncidentSnapshot) -> bool:
    return _compile_cached(_freeze(groups))(incident)


def explain(groups: Iterable[Iterable[Condition | dict[str, Any]]] | None, incident: IncidentSnapshot) -> list[list[tuple[str, bool]]]:
    """Each condition in human form with whether it holds for `incident` (the console's
    "would this incident match?"). Raises ConditionError like `compile_conditions`."""
    return [
        [(format_conditions([[cond]]), _compile_at(cond, gi, ci)(incident)) for ci, cond in enumerate(group, start=1)]
        for gi, group in enumerate(_coerce(groups), start=1)
    ]


def format_conditions(groups: Iterable[Iterable[Condition | dict[str, Any]]] | None) -> str:
    """Human form, e.g. `(severity IN Critical|Warning AND ...) OR (...)`."""
    parsed = _coerce(groups)
    if not parsed:
        return "(no conditions: every incident matches)"
    texts = [
        " AND ".join(f"{c.key} {c.oper} {'|'.join(_quote(v) for v in c.vals)}" for c in group)
        for group in parsed
    ]
    return texts[0] if len(texts) == 1 else " OR ".join(f"({t})" for t in texts)


def _quote(value: str) -> str:
    """A value as written in the human form; quoted when it would be ambiguous there."""
    if value == "" or any(ch.isspace() or ch in '|"()' for ch in value):
        return json.dumps(value, ensure_ascii=False)
    return value


def _match_all(incident: IncidentSnapshot) -> bool:
    return True


# ================================================================ input shape
def _coerce(groups: Iterable[Iterable[Condition | dict[str, Any]]] | None) -> list[list[Condition]]:
    if groups is None:
        return []
    if isinstance(groups, (str, bytes, dict)) or not isinstance(groups, Iterable):
        raise ConditionError("conditions must be a list of groups, each a list of conditions")
    out = []
    for gi, group in enumerate(groups, start=1):
        if isinstance(group, (str, bytes, dict)) or not isinstance(group, Iterable):
            raise ConditionError(f"group {gi}: must be a list of conditions")
        conds = [_coerce_one(c, gi, ci) for ci, c in enumerate(group, start=1)]
        if not conds:
            raise ConditionError(f"group {gi} is empty: remove it, or add a condition")
        out.append(conds)
    return out


def _coerce_one(cond: Any, gi: int, ci: int) -> Condition:
    if isinstance(cond, Condition):
        return cond
    try:
        return Condition.model_validate(cond)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'condition'}: {e['msg']}" for e in exc.errors())
        raise ConditionError(f"group {gi}, condition {ci}: {problems}") from None


def _freeze(groups: ConditionGroups) -> tuple[tuple[tuple[str, str, tuple[str, ...]], ...], ...]:
    """A hashable copy of the conditions, the LRU cache key."""
    return tuple(tuple((c.key, c.oper, tuple(c.vals)) for c in group) for group in _coerce(groups))


@functools.lru_cache(maxsize=256)
def _compile_cached(frozen: tuple[tuple[tuple[str, str, tuple[str, ...]], ...], ...]) -> IncidentMatcher:
    return compile_conditions(
        [[Condition(key=k, oper=o, vals=list(v)) for k, o, v in group] for group in frozen]  # type: ignore[arg-type]
    )


# ================================================================ one condition
def _compile_at(cond: Condition, gi: int, ci: int) -> IncidentMatcher:
    try:
        return _compile_condition(cond)
    except ConditionError as exc:
        raise ConditionError(f"group {gi}, condition {ci} ({cond.key} {cond.oper}): {exc}") from None


def _compile_condition(cond: Condition) -> IncidentMatcher:
    values_of = _field_values(cond.key)
    compiled = [_compile_value(v) for v in cond.vals]
    exact = frozenset(v for v in compiled if isinstance(v, str))
    tests = tuple(v for v in compiled if not isinstance(v, str))

    def hit(incident: IncidentSnapshot) -> bool:
        for value in values_of(incident):
            if value in exact or any(test(value) for test in tests):
                return True
        return False

    if cond.oper == "IN":
        return hit
    return lambda incident: not hit(incident)


# ---------------------------------------------------------------- keys -> values
_ValuesOf = Callable[[IncidentSnapshot], list[str]]
_TEXT_KEYS = ("severity", "title", "description", "progress", "channel_name", "incident_id")


def _field_values(key: str) -> _ValuesOf:
    key = key.strip()
    if key in _TEXT_KEYS:
        return lambda incident: _strings(getattr(incident, key))
    if key == "channel_id":  # 0 = no channel
        return lambda incident: [str(incident.channel_id)] if incident.channel_id else []
    prefix, dot, name = key.partition(".")
    if dot and name and prefix == "labels":
        return lambda incident: _strings((incident.labels or {}).get(name))
    if dot and name and prefix == "fields":
        return lambda incident: _strings((incident.fields or {}).get(name))
    known = ", ".join(_TEXT_KEYS + ("channel_id", "labels.<name>", "fields.<name>"))
    raise ConditionError(f"unknown key {key!r}; expected one of {known}")


def _strings(value: Any) -> list[str]:
    """The non-empty string forms of a field value; [] when it is missing."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple, set, frozenset)) else (value,)
    return [s for s in (_to_str(v) for v in items if v is not None) if s]


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"  # as the JSON Flashduty sent
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # JSON 90 and 90.0 are the same number
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(value)


# ---------------------------------------------------------------- value forms
_ValueTest = Callable[[str], bool]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # errors are reported through ConditionError, not stderr
_WILDCARD_OPTIONS = re2.Options()
_WILDCARD_OPTIONS.log_errors = False
_WILDCARD_OPTIONS.dot_nl = True  # "*" also spans line breaks (descriptions are multi-line)

_NUM_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le, "eq": operator.eq,
}  # fmt: skip
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _compile_value(raw: str) -> str | _ValueTest:
    """A str for exact matching (hashable, checked in O(1)), or a test for the other forms."""
    if len(raw) >= 2 and raw.startswith("/") and raw.endswith("/"):
        return _regex_test(raw)
    if raw.startswith("cidr:"):
        return _cidr_test(raw)
    if raw.startswith("num:"):
        return _num_test(raw)
    if "*" in raw or "?" in raw:
        return _wildcard_test(raw)
    return raw


def _regex_test(raw: str) -> _ValueTest:
    try:
        pattern = re2.compile(raw[1:-1], _RE2_OPTIONS)
    except re2.error as exc:
        raise ConditionError(f"invalid regular expression {raw!r} (RE2 syntax): {_re2_reason(exc)}") from None
    return lambda value: pattern.search(value) is not None


def _re2_reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else exc
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


def _wildcard_test(raw: str) -> _ValueTest:
    if set(raw) == {"*"}:
        return lambda value: True  # values are never empty: "*" = the field is present
    # Only * and ? are special ("[" is literal, unlike fnmatch); RE2 keeps "a*a*a*b" linear.
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re2.escape(ch) for ch in raw)
    pattern = re2.compile(regex, _WILDCARD_OPTIONS)
    return lambda value: pattern.fullmatch(value) is not None


def _cidr_test(raw: str) -> _ValueTest:
    try:
        network = ipaddress.ip_network(raw[len("cidr:") :].strip(), strict=False)
    except ValueError:
        raise ConditionError(
            f"invalid network {raw!r}; expected e.g. cidr:10.0.0.0/24 or cidr:2001:db8::/32"
        ) from None

    def test(value: str) -> bool:
        try:
            ip = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        if ip.version == 6 and network.version == 4 and ip.ipv4_mapped:  # type: ignore[union-attr]
            ip = ip.ipv4_mapped  # type: ignore[union-attr]
        return ip.version == network.version and ip in network

    return test


def _num_test(raw: str) -> _ValueTest:
    _, _, rest = raw.partition(":")
    op_name, sep, number = rest.partition(":")
    compare = _NUM_OPS.get(op_name.strip().lower())
    if compare is None or not sep:
        raise ConditionError(f"invalid numeric value {raw!r}; expected num:gt|ge|lt|le|eq:<number>")
    bound = _number(number)
    if bound is None:
        raise ConditionError(f"invalid numeric value {raw!r}: {number!r} is not a number")
    return lambda value: (x := _number(value)) is not None and compare(x, bound)


def _number(text: str) -> float | None:
    """A finite decimal number, or None (Python's float() also takes "1_0", "nan", "inf")."""
    text = text.strip()
    if not _NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
