"""Flashduty's filter-condition language, used by automatic triggers.

Groups are ORed, conditions inside a group ANDed (reference/flashduty.md §4).
JSON form: [[{"key": "labels.service", "oper": "IN", "vals": ["billing"]}], [...]]

OWNER: conditions helper. The models below are the contract; `matches` and
`compile_conditions` are to be implemented.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .incident import IncidentSnapshot


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1)
    oper: Literal["IN", "NOTIN"]
    vals: list[str] = Field(min_length=1)


ConditionGroups = list[list[Condition]]


def matches(groups: ConditionGroups, incident: IncidentSnapshot) -> bool:
    raise NotImplementedError
