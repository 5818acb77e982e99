"""Two-way sync's pure rules (domain/two_way.py): the per-field decision table, the Flashduty
steps between progresses, the reverse maps, and how a Jira comment is cut for Flashduty."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_sync.domain import two_way as rules
from jira_sync.domain.comment import refs_in_text
from jira_sync.domain.integration import IntegrationConfig
from jira_sync.domain.jira_meta import JiraMeta
from support.configs import integration_config

META = JiraMeta(severity_priority_ids={"Critical": "1", "Warning": "3", "Info": "4"}, checked_at=1.0)


def decide(now: str | None, written: str | None, seen: str | None, means: str | None, wants: str | None,
           owner: str = "flashduty") -> str:
    return rules.decide(jira_now=now, last_written=written, last_seen=seen, jira_means=means,
                        flashduty_wants=wants, owner=owner).verdict  # type: ignore[arg-type]


@pytest.mark.parametrize("now, written, seen, means, wants, owner, verdict", [
    # what we wrote is there (our own move, or its echo): nothing to do, whoever the actor was
    ("In Progress", "In Progress", "In Progress", "Processing", "In Progress", "flashduty", "in_step"),
    ("in progress", "In Progress", "To Do", "Processing", "In Progress", "flashduty", "echo"),
    # a new issue: nothing to compare with yet (an adopted issue), or still in its initial status
    ("To Do", None, None, "Triggered", "To Do", "flashduty", "in_step"),
    ("To Do", "To Do", None, "Triggered", "To Do", "flashduty", "in_step"),
    # ... or moved by a person before jira-sync first looked (its initial status is what we wrote)
    ("In Progress", "To Do", None, "Processing", "To Do", "flashduty", "apply"),
    # a person moved it; Flashduty did not change since we wrote Jira: Flashduty follows
    ("Done", "In Progress", "In Progress", "Closed", "In Progress", "flashduty", "apply"),
    # a person's intermediate hop: nothing, and only once
    ("Triage", "Open", "Open", None, "Open", "flashduty", "not_mapped"),
    ("Triage", "Open", "Triage", None, "Open", "flashduty", "seen"),
    # both changed since the last sync: the owner wins
    ("Done", "To Do", "To Do", "Closed", "In Progress", "flashduty", "conflict_flashduty"),
    ("Done", "To Do", "To Do", "Closed", "In Progress", "jira", "conflict_jira"),
    # both changed to the same thing: no conflict
    ("Done", "To Do", "To Do", "Closed", "Done", "flashduty", "apply"),
])
def test_the_decision_table(now: str, written: str | None, seen: str | None, means: str | None, wants: str,
                            owner: str, verdict: str) -> None:
    assert decide(now, written, seen, means, wants, owner) == verdict


@pytest.mark.parametrize("current, target, steps", [
    ("Triggered", "Processing", ["ack"]), ("Triggered", "Closed", ["resolve"]), ("Processing", "Closed", ["resolve"]),
    ("Processing", "Triggered", ["unack"]), ("Closed", "Triggered", ["reopen"]),
    ("Closed", "Processing", ["reopen", "ack"]), ("Closed", "Closed", []), ("Processing", "Processing", []),
])
def test_flashduty_steps_between_progresses(current: str, target: str, steps: list[str]) -> None:
    assert rules.progress_steps(current, target) == steps


def test_statuses_and_priorities_map_back() -> None:
    cfg = integration_config(severity_map={"Critical": "Highest", "Warning": "Medium", "Info": "Medium"})
    meta = JiraMeta(severity_priority_ids={"Critical": "1", "Warning": "3", "Info": "3"}, checked_at=1.0)
    assert rules.progress_for_status(cfg, meta, "in progress") == "Processing"
    assert rules.progress_for_status(cfg, meta, "Triage") is None
    assert rules.severity_for_priority(cfg, meta, "1") == "Critical"
    # two severities on one priority: the current one stays, else the highest of them
    assert rules.severity_for_priority(cfg, meta, "3", current="Info") == "Info"
    assert rules.severity_for_priority(cfg, meta, "3", current="Critical") == "Warning"
    assert rules.severity_for_priority(cfg, meta, "5") is None


def test_two_way_needs_an_app_key_and_priority_a_severity_map() -> None:
    cfg = IntegrationConfig.model_validate({
        **integration_config().model_dump(mode="json", exclude={"jira"}), "severity_map": None,
        "jira": {"platform": "cloud", "url": "http://jira.test", "username": "a@b.c", "secret": "t"},
        "two_way": {"status": {"direction": "two_way"}, "priority": {"direction": "two_way", "owner": "jira"}}})
    problems = rules_problems(cfg)
    assert any("app_key" in p for p in problems) and any("severity_map" in p for p in problems)
    assert cfg.two_way.poll_interval(cfg.jira.platform) == 600.0  # Cloud: the slower safety net
    with pytest.raises(ValueError):
        IntegrationConfig.model_validate({**cfg.model_dump(mode="json"), "jira": cfg.jira.model_dump(mode="json") | {
            "secret": "t"}, "two_way": {"status": {"direction": "both"}}})


def rules_problems(cfg: IntegrationConfig) -> list[str]:
    from jira_sync.domain.integration import two_way_problems
    return two_way_problems(cfg)


LINK = "https://jira.example.com/browse/OPS-7?focusedCommentId=10042"


@given(text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3000),
       author=st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_a_jira_comment_becomes_marked_pieces_within_flashdutys_limit(text: str, author: str) -> None:
    pieces = rules.flashduty_comment_pieces(author, "OPS-7", text, LINK, "jira-comment:10042")
    for ref, piece in pieces:
        assert len(piece) <= rules.COMMENT_MAX
        assert rules.is_marked(piece) and refs_in_text(piece) == [ref]  # never mirrored back
    head = f"{author.strip() or 'Someone'} in Jira OPS-7"
    bodies = []
    for n, (_, piece) in enumerate(pieces, 1):
        assert piece.startswith(head)
        rest = piece[len(head):]
        label = f" ({n}): " if len(pieces) > 1 else ": "
        assert rest.startswith(label)
        bodies.append(rest[len(label):].rsplit("\n", 1)[0])
    assert "".join(bodies) == (text.strip() or "(empty comment)")  # split, never cut short
    assert len({ref for ref, _ in pieces}) == len(pieces)
