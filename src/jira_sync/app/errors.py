"""What can go wrong in a request to the application, independent of how it arrived.

`web/errors.py` turns these into HTTP answers for the API; the console shows them on its pages.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..setup.checks import CheckReport


class AppError(Exception):
    """A request the application refused; the message says why, in words for a person."""


class NotFound(AppError):
    pass


class Conflict(AppError):
    """The request does not fit the current state (a name taken, an incident not failed)."""


class Invalid(AppError):
    """The request itself is wrong (e.g. filter conditions that do not parse)."""


class CheckFailed(AppError):
    """Jira would refuse this configuration; `report` names every problem."""

    def __init__(self, report: "CheckReport") -> None:
        super().__init__("; ".join(report.errors))
        self.report = report


class JiraFailed(AppError):
    """A look-up in Jira failed; `problem` is a code the console and API clients can act on."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


class JiraRefused(JiraFailed):
    """Jira answered, and refused what was asked: no such project or issue type (`not_found`),
    a value Jira rejects (`refused`), or the credentials (`bad_credentials`, `forbidden`,
    `captcha_required`). The input was wrong, not Jira (422, not 502)."""
