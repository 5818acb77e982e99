"""Flashduty filter conditions: every operator and value form, missing fields, OR/AND, errors."""
from __future__ import annotations


import pytest

from jira_sync.domain.conditions import (
    Condition,
    ConditionError,
    compile_conditions,
    format_conditions,
    matches,
    validate_conditions,
)
from jira_sync.domain.incident import IncidentSnapshot

INCIDENT = IncidentSnapshot(
    incident_id="64b1352e376e32c85c56e25b",
    title="CPU idle low on db-01",
    description="line one\nline two: disk 93%",
    severity="Critical",
    progress="Triggered",
    channel_id=1840312623504,
    channel_name="Reduce Noise",
    labels={
        "check": "cpu idle low",
        "value": "95.5",
        "host_ip": "10.0.0.17",
        "v6": "2001:db8::1",
        "mapped": "::ffff:10.0.0.9",
        "empty": "",
        "path": "/var/log/[x]",
    },
    fields={"count": 42, "ratio": 0.5, "whole": 90.0, "flag": True, "tags": ["a", "b", 7], "obj": {"k": 1}, "none": None, "nothing": []},
)
BARE = IncidentSnapshot(incident_id="i2")  # title "", channel 0, no labels/fields


def cond(key: str, oper: str, *vals: str) -> list[list[Condition]]:
    return [[Condition(key=key, oper=oper, vals=list(vals))]]  # type: ignore[arg-type]


CASES = [
    # (key, oper, vals, incident, expected)
    # --- exact match on every built-in key
    ("severity", "IN", ["Critical", "Warning"], INCIDENT, True),
    ("severity", "IN", ["critical"], INCIDENT, False),  # case-sensitive
    ("severity", "NOTIN", ["Info"], INCIDENT, True),
    ("severity", "NOTIN", ["Info", "Critical"], INCIDENT, False),
    ("title", "IN", ["CPU idle low on db-01"], INCIDENT, True),
    ("description", "IN", ["line one"], INCIDENT, False),  # exact, not substring
    ("progress", "IN", ["Triggered"], INCIDENT, True),
    ("channel_id", "IN", ["1840312623504"], INCIDENT, True),
    ("channel_name", "IN", ["Reduce Noise"], INCIDENT, True),
    ("incident_id", "IN", ["64b1352e376e32c85c56e25b"], INCIDENT, True),
    ("labels.check", "IN", ["cpu idle low"], INCIDENT, True),
    # --- regex: RE2, unanchored search
    ("labels.check", "IN", ["/cpu/", "/io/"], INCIDENT, True),
    ("labels.check", "IN", ["/^idle/"], INCIDENT, False),
    ("labels.check", "IN", ["/^cpu.*low$/"], INCIDENT, True),
    ("title", "IN", ["/(?i)DB-\\d+/"], INCIDENT, True),
    ("description", "IN", ["/disk 9[0-9]%/"], INCIDENT, True),
    ("labels.check", "NOTIN", ["/memory/"], INCIDENT, True),
    ("labels.check", "NOTIN", ["/memory/", "/idle/"], INCIDENT, False),
    ("labels.path", "IN", ["/var/log/[x]"], INCIDENT, True),  # not /.../: an exact value
    ("labels.path", "IN", ["/var/log/"], INCIDENT, True),  # /.../: the regex "var/log", searched
    ("labels.path", "IN", ["/log/[x]/"], INCIDENT, False),  # [x] is a character class here
    ("labels.path", "IN", ["/log/\\[x\\]/"], INCIDENT, True),
    # --- wildcards: full match
    ("labels.check", "IN", ["cpu*"], INCIDENT, True),
    ("labels.check", "IN", ["*idle*"], INCIDENT, True),
    ("labels.check", "IN", ["idle*"], INCIDENT, False),
    ("labels.check", "IN", ["cpu idle lo?"], INCIDENT, True),
    ("labels.check", "IN", ["cpu idle l?"], INCIDENT, False),
    ("labels.path", "IN", ["*[x]"], INCIDENT, True),  # "[" is literal in wildcards
    ("description", "IN", ["line one*two*"], INCIDENT, True),  # "*" spans line breaks
    ("labels.check", "IN", ["*"], INCIDENT, True),  # "*" alone: the field exists
    ("labels.nope", "IN", ["*"], INCIDENT, False),
    ("labels.empty", "IN", ["*"], INCIDENT, False),  # exists means non-empty
    ("labels.nope", "NOTIN", ["*"], INCIDENT, True),  # NOTIN *: the field is absent
    ("labels.check", "NOTIN", ["*"], INCIDENT, False),
    ("title", "NOTIN", ["*"], BARE, True),
    ("channel_id", "NOTIN", ["*"], BARE, True),  # channel 0 = no channel
    ("channel_id", "IN", ["*"], INCIDENT, True),
    # --- cidr
    ("labels.host_ip", "IN", ["cidr:10.0.0.0/24"], INCIDENT, True),
    ("labels.host_ip", "IN", ["cidr:10.0.1.0/24"], INCIDENT, False),
    ("labels.host_ip", "IN", ["cidr:10.0.0.17"], INCIDENT, True),  # a single host
    ("labels.host_ip", "IN", ["cidr:10.0.0.5/8"], INCIDENT, True),  # host bits allowed
    ("labels.host_ip", "NOTIN", ["cidr:192.168.0.0/16"], INCIDENT, True),
    ("labels.v6", "IN", ["cidr:2001:db8::/32"], INCIDENT, True),
    ("labels.v6", "IN", ["cidr:10.0.0.0/8"], INCIDENT, False),  # version mismatch
    ("labels.host_ip", "IN", ["cidr:::/0"], INCIDENT, False),
    ("labels.mapped", "IN", ["cidr:10.0.0.0/24"], INCIDENT, True),  # IPv4-mapped IPv6
    ("labels.check", "IN", ["cidr:10.0.0.0/8"], INCIDENT, False),  # not an IP: no match
    ("labels.check", "NOTIN", ["cidr:10.0.0.0/8"], INCIDENT, True),
    # --- num
    ("labels.value", "IN", ["num:gt:90"], INCIDENT, True),
    ("labels.value", "IN", ["num:gt:95.5"], INCIDENT, False),
    ("labels.value", "IN", ["num:ge:95.5"], INCIDENT, True),
    ("labels.value", "IN", ["num:lt:96"], INCIDENT, True),
    ("labels.value", "IN", ["num:le:95"], INCIDENT, False),
    ("labels.value", "IN", ["num:eq:95.50"], INCIDENT, True),
    ("labels.value", "IN", ["num:GT:1e1"], INCIDENT, True),
    ("labels.check", "IN", ["num:gt:0"], INCIDENT, False),  # not a number: never matches
    ("labels.check", "NOTIN", ["num:gt:0"], INCIDENT, True),
    ("fields.count", "IN", ["num:ge:42"], INCIDENT, True),
    ("fields.whole", "IN", ["num:eq:90"], INCIDENT, True),
    # --- fields: string forms of non-strings, lists match on any element
    ("fields.count", "IN", ["42"], INCIDENT, True),
    ("fields.ratio", "IN", ["0.5"], INCIDENT, True),
    ("fields.whole", "IN", ["90"], INCIDENT, True),
    ("fields.flag", "IN", ["true"], INCIDENT, True),
    ("fields.tags", "IN", ["b"], INCIDENT, True),
    ("fields.tags", "IN", ["7"], INCIDENT, True),
    ("fields.tags", "IN", ["c"], INCIDENT, False),
    ("fields.tags", "NOTIN", ["c"], INCIDENT, True),
    ("fields.tags", "NOTIN", ["a"], INCIDENT, False),
    ("fields.obj", "IN", ['{"k":1}'], INCIDENT, True),
    ("fields.none", "IN", ["*"], INCIDENT, False),  # null = missing
    ("fields.nothing", "NOTIN", ["*"], INCIDENT, True),  # [] = missing
    # --- missing fields: IN never matches, NOTIN always does, whatever the value form
    ("labels.absent", "IN", ["x", "/./", "num:gt:0", "cidr:0.0.0.0/0", "?*"], INCIDENT, False),
    ("labels.absent", "NOTIN", ["x", "/./", "num:gt:0", "cidr:0.0.0.0/0", "?*"], INCIDENT, True),
    ("fields.absent", "IN", ["x"], BARE, False),
    ("title", "IN", [""], BARE, False),  # "" is missing, not a value
    ("title", "NOTIN", ["x"], BARE, True),
    ("severity", "NOTIN", ["Critical"], BARE, True),
]


@pytest.mark.parametrize("key, oper, vals, incident, expected", CASES)
def test_condition_table(key: str, oper: str, vals: list[str], incident: IncidentSnapshot, expected: bool) -> None:
    groups = cond(key, oper, *vals)
    assert compile_conditions(groups)(incident) is expected
    assert matches(groups, incident) is expected


def test_empty_groups_match_everything() -> None:
    assert matches([], INCIDENT) and matches([], BARE)
    assert compile_conditions(None)(BARE)


def test_and_within_group_or_between_groups() -> None:
    sev = Condition(key="severity", oper="IN", vals=["Critical"])
    chk = Condition(key="labels.check", oper="IN", vals=["/memory/"])
    ch = Condition(key="channel_name", oper="IN", vals=["Reduce Noise"])
    assert not matches([[sev, chk]], INCIDENT)  # AND: one fails
    assert matches([[sev, ch]], INCIDENT)
    assert matches([[chk], [ch]], INCIDENT)  # OR: one group suffices
    assert not matches([[chk], [sev, chk]], INCIDENT)


DOC_EXAMPLE = [
    [
        {"key": "severity", "oper": "IN", "vals": ["Critical", "Warning"]},
        {"key": "labels.check", "oper": "IN", "vals": ["Binlog Sync Delay"]},
    ],
    [
        {"key": "labels.check", "oper": "IN", "vals": ["/cpu/", "/io/"]},
        {"key": "labels.value", "oper": "IN", "vals": ["num:gt:90"]},
    ],
]


@pytest.mark.parametrize(
    "severity, labels, expected",
    [
        ("Warning", {"check": "Binlog Sync Delay"}, True),  # first group
        ("Info", {"check": "Binlog Sync Delay"}, False),
        ("Info", {"check": "disk io wait", "value": "91"}, True),  # second group
        ("Critical", {"check": "cpu idle low", "value": "90"}, False),  # gt, not ge
        ("Critical", {"check": "cpu idle low", "value": "n/a"}, False),
        ("Critical", {"check": "cpu idle low"}, False),  # value missing
    ],
)
def test_doc_example(severity: str, labels: dict[str, str], expected: bool) -> None:
    incident = IncidentSnapshot(incident_id="x", severity=severity, labels=labels)
    assert compile_conditions(DOC_EXAMPLE)(incident) is expected


def test_format_doc_example() -> None:
    assert format_conditions(DOC_EXAMPLE) == (
        '(severity IN Critical|Warning AND labels.check IN "Binlog Sync Delay") OR '
        "(labels.check IN /cpu/|/io/ AND labels.value IN num:gt:90)"
    )


def test_format_single_group_and_quoting() -> None:
    assert format_conditions(cond("title", "NOTIN", "a|b", "", 'say "hi"', "/x/")) == (
        'title NOTIN "a|b"|""|"say \\"hi\\""|/x/'
    )
    assert "every incident" in format_conditions([])


@pytest.mark.parametrize(
    "groups, fragment",
    [
        (cond("nope", "IN", "x"), "unknown key 'nope'"),
        (cond("labels.", "IN", "x"), "unknown key 'labels.'"),
        (cond("label.check", "IN", "x"), "unknown key 'label.check'"),
        (cond("title", "IN", "/(unclosed/"), "invalid regular expression '/(unclosed/'"),
        (cond("title", "IN", "/(?=lookahead)/"), "invalid regular expression"),  # not RE2
        (cond("title", "IN", "/(a)\\1/"), "invalid regular expression"),  # no backreferences
        (cond("labels.ip", "IN", "cidr:10.0.0.0/33"), "invalid network 'cidr:10.0.0.0/33'"),
        (cond("labels.ip", "IN", "cidr:not-an-ip"), "invalid network 'cidr:not-an-ip'"),
        (cond("labels.v", "IN", "num:gtx:90"), "invalid numeric value 'num:gtx:90'"),
        (cond("labels.v", "IN", "num:gt"), "invalid numeric value 'num:gt'"),
        (cond("labels.v", "IN", "num:gt:ninety"), "'ninety' is not a number"),
        (cond("labels.v", "IN", "num:gt:nan"), "'nan' is not a number"),
        ([[]], "group 1 is empty"),
        ([[{"key": "title", "oper": "EQ", "vals": ["a"]}]], "group 1, condition 1: oper"),
        ([[{"key": "title", "oper": "IN", "vals": []}]], "group 1, condition 1: vals"),
        ([[{"key": "title", "oper": "IN", "vals": ["a"], "x": 1}]], "group 1, condition 1: x"),
        ("severity IN Critical", "must be a list of groups"),
        ([{"key": "title"}], "group 1: must be a list of conditions"),
    ],
)
def test_invalid_conditions(groups: object, fragment: str) -> None:
    with pytest.raises(ConditionError) as info:
        validate_conditions(groups)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_names_position_of_bad_value() -> None:
    ok = Condition(key="title", oper="IN", vals=["a"])
    bad = Condition(key="labels.ip", oper="NOTIN", vals=["x", "cidr:300.0.0.0/8"])
    with pytest.raises(ConditionError, match=r"group 2, condition 2 \(labels.ip NOTIN\): invalid network 'cidr:300.0.0.0/8'"):
        compile_conditions([[ok], [ok, bad]])


def test_matches_raises_on_invalid_and_caches_valid() -> None:
    with pytest.raises(ConditionError):
        matches(cond("title", "IN", "/(/"), INCIDENT)
    groups = cond("labels.check", "IN", "/cpu/")
    assert matches(groups, INCIDENT)
    from jira_sync.domain import conditions as module

    before = module._compile_cached.cache_info().hits
    assert matches(cond("labels.check", "IN", "/cpu/"), INCIDENT)  # equal content: cache hit
    assert module._compile_cached.cache_info().hits == before + 1


def test_regexes_are_re2_so_a_hostile_pattern_cannot_backtrack() -> None:
    # A backtracking engine takes exponential time on /(a+)+$/ against "aaaa...!"; RE2 is
    # linear by construction. (Speed itself is measured in bench/, not asserted here.)
    import re2

    groups = [
        [Condition(key="labels.check", oper="IN", vals=["/(a+)+$/", "a*a*a*a*a*a*a*b"])],
        [Condition(key="severity", oper="IN", vals=["Warning"])],
    ]
    match = compile_conditions(groups)
    evil = IncidentSnapshot(incident_id="x", labels={"check": "a" * 5000 + "!"})
    assert match(evil) is False
    assert match(IncidentSnapshot(incident_id="y", labels={"check": "aaa"})) is True
    assert "re2" in repr(type(re2.compile("(a+)+$"))).lower()  # the engine conditions.py imports
