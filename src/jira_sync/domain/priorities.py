"""The priority each severity gets when nobody chose one: by the names of the site's priorities.

Jira sites use a handful of priority schemes. Each is listed top to bottom with the priority
that Critical, Warning and Info take in it. The scheme sharing the most names with the site's
priorities wins (ties: the order below), so 紧急/高/中/低 is told apart from Jira's Chinese
translation 最高/高/中/低/最低 although three names are the same.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scheme:
    names: tuple[str, ...]  # top to bottom
    critical: tuple[str, ...]  # preferred names for each severity, first present wins
    warning: tuple[str, ...]
    info: tuple[str, ...]


SCHEMES = (
    # Jira's default scheme (Cloud, and Server/DC since 7.x)
    Scheme(("Highest", "High", "Medium", "Low", "Lowest"), ("Highest", "High"), ("Medium", "High"), ("Low", "Lowest")),
    # Jira's classic scheme
    Scheme(("Blocker", "Critical", "Major", "Minor", "Trivial"), ("Critical", "Blocker"), ("Major",), ("Minor", "Trivial")),
    # the four levels Chinese teams name themselves: the most urgent, then the next two
    Scheme(("紧急", "高", "中", "低"), ("紧急", "高"), ("高", "中"), ("中", "低")),
    # Jira's Chinese translation of its default scheme: as the English one
    Scheme(("最高", "高", "中", "低", "最低"), ("最高", "高"), ("中", "高"), ("低", "最低")),
    # numbered schemes (PagerDuty and Opsgenie style)
    Scheme(("P1", "P2", "P3", "P4", "P5"), ("P1",), ("P2", "P3"), ("P3", "P4")),
)


def default_severity_priorities(priorities: list[tuple[str, str]]) -> dict[str, str]:
    """Severity ("Critical", "Warning", "Info") -> priority id, from the site's (id, name) pairs.

    Names compare case-insensitively; a severity none of whose names exist is left out.
    """
    by_name = {name.strip().casefold(): pid for pid, name in priorities}
    best: Scheme | None = None
    best_shared = 0
    for scheme in SCHEMES:
        shared = sum(1 for n in scheme.names if n.casefold() in by_name)
        if shared > best_shared:
            best, best_shared = scheme, shared
    if best is None:
        return {}
    out: dict[str, str] = {}
    for severity, wanted in (("Critical", best.critical), ("Warning", best.warning), ("Info", best.info)):
        found = next((by_name[n.casefold()] for n in wanted if n.casefold() in by_name), None)
        if found is not None:
            out[severity] = found
    return out
