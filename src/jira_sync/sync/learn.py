"""An integration saved with `check=false` is checked by its first sync.

Saving unchecked (Jira unreachable at the time, a prepared file) leaves names unresolved: an
issue type, priorities or statuses given by name would otherwise be sent as ids, and Jira
answers 400 "The issue type selected is invalid". So the first reconcile of such an
integration runs the same check a save runs (`setup/checks.py`), keeps what it learned as the
integration's `jira_meta`, and only then writes. One reconcile per integration does it (the
others wait for it); another process that already learned it is read from the database.
A check that cannot resolve the project and issue type names the problem on the incident,
which waits for a person; other problems are left for Jira to name in its answers, as an
unchecked save asked; failures retrying can cure (Jira down) back off as usual.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..domain.jira_meta import JiraMeta
from ..jira.port import JiraPermanentError
from ..setup.checks import check_integration
from ..store import integrations as integration_store

if TYPE_CHECKING:
    from .reconcile import Job

log = logging.getLogger(__name__)

REFUSAL_KEPT_S = 15.0  # a failed check answers the integration's other incidents this long (no storm of checks)


async def learn_meta(job: "Job") -> None:
    memory = job.memory
    async with memory.learning:
        if memory.learned is None:
            refused = memory.refused_lately(REFUSAL_KEPT_S)
            if refused is not None:
                raise JiraPermanentError(refused)
            stored = await integration_store.stored_meta(job.engine, job.claimed.integration_id)
            if stored is not None and stored.checked:
                memory.learned = stored  # learned by another process (or checked meanwhile)
            else:
                memory.learned = await _check(job)
    job.meta = memory.learned


async def _check(job: "Job") -> JiraMeta:
    report = await check_integration(job.config, job.jira, raise_transient=True)
    if report.meta.issue_type_id is None:  # nothing to create with: the check's words are the answer
        message = ("The integration was saved without a check; its first sync checked it against Jira: "
                   + "; ".join(report.errors))
        job.memory.refused = (time.time(), message)
        raise JiraPermanentError(message)
    # other problems (a required field left empty, ...) are Jira's to name when it is written to
    for problem in report.errors + report.warnings:
        log.warning("integration %s (saved unchecked): %s", job.claimed.integration_id, problem)
    await integration_store.save_learned_meta(job.engine, job.claimed.integration_id, report.meta)
    log.info("integration %s: names resolved by its first sync (issue type %s, project %s)",
             job.claimed.integration_id, report.meta.issue_type_id, report.meta.project_key)
    return report.meta
