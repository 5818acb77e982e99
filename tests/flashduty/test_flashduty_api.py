"""FlashdutyApi against the emulator over real loopback HTTP."""
from __future__ import annotations

import logging
import socket
import traceback

import httpx
import pytest

from jira_sync.sources import flashduty_api
from jira_sync.sources.flashduty_api import FlashdutyApi, FlashdutyApiError

APP_KEY = "fd-app-key"  # conftest's fake and client use it too


def new_incident(fake) -> str:
    return fake.open_incident()["incident"]["incident_id"]


def feed_requests(fake) -> list[dict]:
    return [r for r in fake.requests if r["path"] == "/incident/feed"]


def assert_key_hidden(err: FlashdutyApiError, key: str, caplog=None) -> None:
    shown = [str(err), repr(err), err.message, *map(str, err.args),
             "".join(traceback.format_exception(err))]
    if caplog is not None:
        shown.append(caplog.text)
    assert all(key not in text for text in shown)


async def test_comments_follow_every_page_and_keep_only_comments(fake, api):
    iid = new_incident(fake)
    for i in range(230):
        fake.add_comment(iid, f"comment {i}", author="Bob" if i % 2 else "Alice")
        if i % 10 == 0:
            fake.set_severity(iid, "Warning" if i % 20 else "Critical")
    comments = await api.comments(iid)

    assert [c.text for c in comments] == [f"comment {i}" for i in range(230)]
    assert [c.author for c in comments[:3]] == ["Alice", "Bob", "Alice"]
    assert [c.created_at for c in comments] == sorted(c.created_at for c in comments)
    assert len({c.id for c in comments}) == 230
    sent = [r["body"] for r in feed_requests(fake)]
    assert [b["p"] for b in sent] == [1, 2, 3]  # 255 entries, 100 a page
    assert all(b == {"incident_id": iid, "p": b["p"], "limit": 100, "asc": True} for b in sent)
    names = [r for r in fake.requests if r["path"] == "/person/infos"]
    assert len(names) == 1 and sorted(names[0]["body"]["person_ids"]) == sorted(
        fake.person(n)["person_id"] for n in ("Alice", "Bob"))


async def test_comment_ids_are_stable_across_reads(fake, api):
    iid = new_incident(fake)
    fake.add_comment(iid, "same text")
    fake.add_comment(iid, "same text")  # a second, later comment with the same words
    first, second = await api.comments(iid), await api.comments(iid)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == 2


async def test_empty_and_malformed_comments_are_skipped(fake, api):
    iid = new_incident(fake)
    fake.add_comment(iid, "   \n")
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": {"mute_reply": True}})
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": {"comment": 42}})
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": "oops"})
    fake.add_feed_entry(iid, "not even an object")  # type: ignore[arg-type]
    fake.add_comment(iid, "kept")
    assert [c.text for c in await api.comments(iid)] == ["kept"]


async def test_feed_variants_are_read_tolerantly(fake, api):
    iid = new_incident(fake)
    fake.add_feed_entry(iid, {"type": "i_comm", "id": "c-1", "detail": {"comment": "has id"},
                              "creator_name": "Carol", "created_at": 1_700_000_001})
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": {"comment": "person obj"},
                              "person": {"person_name": "Dave"}, "created_at": "1700000002000"})
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": {"comment": "nobody"},
                              "creator_id": 0, "created_at": 1_700_000_003_000})
    fake.add_feed_entry(iid, {"type": "i_comm", "detail": {"comment": "a stranger"},
                              "creator_id": 999, "created_at": 1_700_000_004_000})
    got = [(c.text, c.author, c.created_at) for c in await api.comments(iid)]
    assert got == [("has id", "Carol", 1_700_000_001_000),  # seconds scaled to ms
                   ("person obj", "Dave", 1_700_000_002_000),
                   ("nobody", "", 1_700_000_003_000), ("a stranger", "", 1_700_000_004_000)]
    assert (await api.comments(iid))[0].id == "c-1"


async def test_no_comments_means_no_name_lookup(fake, api):
    iid = new_incident(fake)
    assert await api.comments(iid) == []
    assert [r["path"] for r in fake.requests] == ["/incident/feed"]


async def test_wrong_app_key_is_permanent_and_never_shown(fake, fd_url, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # a service started earlier quiets httpx to WARNING
    secret = "wrong-secret-app-key"
    iid = new_incident(fake)
    async with FlashdutyApi(fd_url, secret) as bad:
        with pytest.raises(FlashdutyApiError) as info:
            await bad.comments(iid)
        assert secret not in repr(bad)
    err = info.value
    assert (err.retryable, err.status, err.code) == (False, 401, "Unauthorized")
    assert "Unauthorized: app_key is invalid or missing" in err.message
    assert "app_key=<secret>" in caplog.text  # httpx logged the URL, redacted
    assert_key_hidden(err, secret, caplog)


async def test_key_echoed_in_an_error_message_is_redacted(fake, api):
    fake.fail_next(400, code="InvalidParameter", message=f"app_key {APP_KEY} is malformed")
    with pytest.raises(FlashdutyApiError) as info:
        await api.comments(new_incident(fake))
    assert not info.value.retryable
    assert "InvalidParameter: app_key <secret> is malformed" in info.value.message
    assert_key_hidden(info.value, APP_KEY)


@pytest.mark.parametrize(
    ("status", "fault", "retryable", "expected"),
    [
        (500, {}, True, "HTTP 500 InternalError: injected fault"),
        (503, {"body": b"<html>busy</html>"}, True, "HTTP 503"),
        (429, {"code": "RequestTooFrequently", "headers": {"Retry-After": "7"}}, True,
         "HTTP 429 RequestTooFrequently"),
        (403, {"code": "AccessDenied", "message": "no permission"}, False,
         "HTTP 403 AccessDenied: no permission (check the Flashduty app key"),
        (200, {"code": "InvalidParameter", "message": "limit too big"}, False,
         "HTTP 200 InvalidParameter: limit too big"),
        (200, {"code": "RequestTooFrequently", "message": "slow down"}, True, "HTTP 200"),
        (200, {"code": "", "message": "odd"}, False, "HTTP 200 odd ["),
        (200, {"body": b"<html>captive portal</html>"}, True, "HTTP 200 without a JSON data"),
    ],
)
async def test_error_answers_say_whether_to_retry(fake, api, status, fault, retryable, expected):
    iid = new_incident(fake)
    fake.fail_next(status, **fault)
    with pytest.raises(FlashdutyApiError) as info:
        await api.comments(iid)
    err = info.value
    assert (err.retryable, err.status) == (retryable, status)
    assert expected in err.message
    assert ("[request_id" in err.message) == ("body" not in fault)  # Flashduty's id, for support
    assert err.retry_after == (7.0 if status == 429 else None)
    assert_key_hidden(err, APP_KEY)


async def test_unknown_incident_is_permanent(api):
    with pytest.raises(FlashdutyApiError) as info:
        await api.comments("0123456789abcdef01234567")
    assert (info.value.retryable, info.value.code) == (False, "ResourceNotFound")


async def test_connection_refused_is_retryable():
    with socket.socket() as s:  # a port that was free a moment ago, with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with FlashdutyApi(f"http://127.0.0.1:{port}", APP_KEY) as down:
        with pytest.raises(FlashdutyApiError) as info:
            await down.comments("0123456789abcdef01234567")
    assert info.value.retryable and info.value.message.startswith("Flashduty /incident/feed: ")
    assert_key_hidden(info.value, APP_KEY)


async def test_timeout_is_retryable(fake, fd_url):
    iid = new_incident(fake)
    fake.fail_next(200, delay=1.0)
    async with FlashdutyApi(fd_url, APP_KEY, timeout=0.2) as slow:
        with pytest.raises(FlashdutyApiError) as info:
            await slow.comments(iid)
    assert info.value.retryable and "no answer within 0.2 s" in info.value.message


async def test_names_that_cannot_be_read_leave_authors_empty(fake, api, caplog):
    iid = new_incident(fake)
    fake.add_comment(iid, "hi", author="Alice")
    fake.fail_next(403, code="AccessDenied", message="no member read", path="/person/infos")
    comments = await api.comments(iid)
    assert [(c.text, c.author) for c in comments] == [("hi", "")]
    assert "comment authors unknown" in caplog.text


async def test_names_lookup_outage_is_retried_as_a_whole(fake, api):
    iid = new_incident(fake)
    fake.add_comment(iid, "hi", author="Alice")
    fake.fail_next(502, path="/person/infos")
    with pytest.raises(FlashdutyApiError) as info:
        await api.comments(iid)
    assert info.value.retryable
    assert [c.author for c in await api.comments(iid)] == ["Alice"]


async def test_a_feed_that_never_ends_is_cut_off(fake, api, monkeypatch, caplog):
    monkeypatch.setattr(flashduty_api, "_PAGE_LIMIT", 2)
    monkeypatch.setattr(flashduty_api, "_MAX_PAGES", 3)
    iid = new_incident(fake)  # i_new + i_notify fill page 1
    for i in range(10):
        fake.add_comment(iid, f"c{i}")
    assert [c.text for c in await api.comments(iid)] == ["c0", "c1", "c2", "c3"]
    assert "over 3 pages" in caplog.text


async def test_a_shared_http_client_is_left_open(fake, fd_url):
    async with httpx.AsyncClient() as http:
        api = FlashdutyApi(fd_url + "/", APP_KEY, http=http)  # trailing slash tolerated
        await api.comments(new_incident(fake))
        await api.aclose()
        assert not http.is_closed
    owned = FlashdutyApi(fd_url, APP_KEY)
    await owned.aclose()
    assert owned._http.is_closed
