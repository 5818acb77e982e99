"""What every Open API call of the emulator shares: envelope, keys, permissions, unknown
routes, rate limits (the spec's 50/s and 1,000/min per account, lowered here)."""
from __future__ import annotations

import time

import httpx

READ_KEY = "fd-read-key"


def test_success_and_errors_carry_the_request_id_header_too(call):
    ok = call("/member/info")
    assert ok.status_code == 200 and ok.headers["Flashcat-Request-Id"] == ok.json()["request_id"]
    bad = call("/member/info", key="nope")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "Unauthorized"
    assert bad.headers["Flashcat-Request-Id"] == bad.json()["request_id"]


def test_member_info_is_the_member_the_key_acts_as(fake, call):
    data = call("/member/info").json()["data"]
    me = fake.person(fake.member)
    assert (data["member_id"], data["member_name"], data["email"]) == (
        me["person_id"], "Jira Sync", me["email"])
    assert data["account_id"] == fake.account_id and data["status"] == "enabled"
    viewer = call("/member/info", key=READ_KEY).json()["data"]
    assert viewer["member_name"] == "Viewer" and viewer["member_id"] != me["person_id"]


def test_the_read_only_key_may_read(fake, call):
    iid = fake.open_incident()["incident"]["incident_id"]
    assert call("/incident/info", key=READ_KEY, incident_id=iid).status_code == 200


def test_unknown_routes_and_methods(fd_url):
    resp = httpx.post(f"{fd_url}/incident/nope", params={"app_key": "fd-app-key"}, json={})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "RouteNotFound"
    resp = httpx.get(f"{fd_url}/incident/info", params={"app_key": "fd-app-key"})
    assert resp.status_code == 405 and resp.json()["error"]["code"] == "MethodNotAllowed"


def test_per_second_limit_answers_429_then_recovers(fake, call):
    fake.settings.rate_per_second = 3
    codes = [call("/member/info").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    too_many = call("/member/info")
    assert too_many.json()["error"]["code"] == "RequestTooFrequently"
    assert "Retry-After" not in too_many.headers  # the spec documents none
    time.sleep(1.05)
    assert call("/member/info").status_code == 200


def test_per_minute_limit_and_an_optional_retry_after(fake, call):
    fake.settings.rate_per_minute, fake.settings.retry_after = 4, 7
    codes = [call("/member/info").status_code for _ in range(6)]
    assert codes == [200] * 4 + [429] * 2
    assert call("/member/info").headers["Retry-After"] == "7"


def test_limits_count_the_account_not_the_key_and_skip_bad_keys(fake, call):
    fake.settings.rate_per_second = 2
    assert call("/member/info", key="wrong").status_code == 401  # not counted
    assert call("/member/info").status_code == 200
    assert call("/member/info", key=READ_KEY).status_code == 200
    assert call("/member/info", key=READ_KEY).status_code == 429


def test_limits_can_be_switched_off(fake, call):
    fake.settings.rate_per_second = fake.settings.rate_per_minute = None
    assert {call("/member/info").status_code for _ in range(60)} == {200}


def test_default_limits_are_the_documented_ones(fake):
    assert (fake.settings.rate_per_second, fake.settings.rate_per_minute) == (50, 1000)


def test_injected_faults_apply_to_the_new_paths_too(fake, call):
    fake.fail_next(500, path="/incident/list-by-ids")
    assert call("/incident/list-by-ids", incident_ids=[]).status_code == 500
    assert call("/incident/list-by-ids", incident_ids=[]).status_code == 200
