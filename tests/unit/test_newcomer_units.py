"""Pure rules behind issue 11: default priorities by scheme, durations in log lines, and which
webhook URLs Flashduty's cloud cannot reach."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_sync.domain.durations import format_duration, retry_phrase
from jira_sync.domain.priorities import default_severity_priorities
from jira_sync.domain.webhook_url import cloud_unreachable_reason, reachability_warning


def _ids(*names: str) -> list[tuple[str, str]]:
    return [(str(i + 1), n) for i, n in enumerate(names)]


@pytest.mark.parametrize(("names", "expected"), [
    (("紧急", "高", "中", "低"), ("紧急", "高", "中")),
    (("Highest", "High", "Medium", "Low", "Lowest"), ("Highest", "Medium", "Low")),
    (("Blocker", "Critical", "Major", "Minor", "Trivial"), ("Critical", "Major", "Minor")),
    (("最高", "高", "中", "低", "最低"), ("最高", "中", "低")),
    (("P1", "P2", "P3", "P4", "P5"), ("P1", "P2", "P3")),
    (("highest", "HIGH", "medium", "low", "lowest"), ("highest", "medium", "low")),  # any case
    (("紧急", "高", "低"), ("紧急", "高", "低")),  # no 中: Info takes the next one down
    (("High", "Low"), ("High", "High", "Low")),  # a partial default scheme
])
def test_default_priorities_by_scheme(names: tuple[str, ...], expected: tuple[str, str, str]) -> None:
    pairs = _ids(*names)
    by_id = dict(pairs)
    chosen = default_severity_priorities(pairs)
    assert (by_id[chosen["Critical"]], by_id[chosen["Warning"]], by_id[chosen["Info"]]) == expected


def test_no_known_priority_names_choose_nothing() -> None:
    assert default_severity_priorities(_ids("Urgent-ish", "Whenever")) == {}
    assert default_severity_priorities([]) == {}


@given(st.lists(st.text(max_size=8), max_size=8))
def test_defaults_are_always_the_sites_own_priorities(names: list[str]) -> None:
    pairs = _ids(*names)
    assert set(default_severity_priorities(pairs).values()) <= {pid for pid, _ in pairs}


@pytest.mark.parametrize(("seconds", "text"), [
    (0.8572016149499344, "0.9 s"), (0, "0 s"), (3, "3 s"), (42.4, "42 s"), (65, "1 min 5 s"),
    (3600, "1 h"), (3725, "1 h 2 min"), (90000, "1 d 1 h"),
])
def test_durations_are_rounded_for_people(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_retry_phrase_is_omitted_when_no_retry_is_planned() -> None:
    assert retry_phrase(100.8572016149499344, 100.0) == "retry in 0.9 s"
    assert retry_phrase(None, 100.0) == ""
    assert retry_phrase(90.0, 100.0) == "retry in 0 s"  # already due


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://10.1.2.3",
                                 "http://192.168.1.5:80", "http://[::1]:8080", "http://buildbox:8080",
                                 "http://jira-sync.local", "http://0.0.0.0:8080"])
def test_private_urls_cannot_be_reached_from_the_cloud(url: str) -> None:
    assert cloud_unreachable_reason(url) is not None
    warning = reachability_warning(url, public_url_set=False)
    assert warning is not None and "JIRA_SYNC_PUBLIC_URL" in warning


@pytest.mark.parametrize("url", ["https://jira-sync.example.com", "http://8.8.8.9:8080"])
def test_public_urls_get_no_warning(url: str) -> None:
    assert cloud_unreachable_reason(url) is None
    assert reachability_warning(url, public_url_set=False) is None


def test_an_explicit_public_url_is_trusted() -> None:
    assert reachability_warning("http://10.0.0.5:8080", public_url_set=True) is None
