"""A stateful Flashduty: incidents, their timelines, and the webhook payload each change sends.

Every mutator updates the incident, appends the matching timeline (feed) entry and
returns the webhook payload Flashduty would push: a fresh 32-hex `event_id`, an
`event_time` in milliseconds that only grows, the operator as `person`, and the
LATEST complete incident (flashduty.md §1). Payloads are also kept in `events`, and
delivered to every matching webhook integration (`add_webhook`, delivery.py) once the
change is complete and the lock released, so a receiver can call the Open API back.
"""
from __future__ import annotations

import asyncio
import copy
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jira_sync.devtools.fake_flashduty.delivery import Deliverer, WebhookIntegration
from jira_sync.devtools.fake_flashduty.history import DeliveryHistory
from jira_sync.devtools.fake_flashduty.settings import FakeSettings

_RESETS = {  # field → event type of its "reset" (flashduty.md §1 event list)
    "title": "i_r_title", "description": "i_r_desc", "impact": "i_r_impact",
    "root_cause": "i_r_rc", "resolution": "i_r_rsltn",
}


@dataclass
class Fault:
    """What the API answers next instead of the real thing (see `FakeFlashduty.fail_next`)."""

    status: int = 500
    code: str = "InternalError"
    message: str = "injected fault"
    body: bytes | None = None  # sent verbatim when set, instead of an error envelope
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)
    headers: dict[str, str] | None = None  # e.g. {"Retry-After": "7"} on a 429
    path: str | None = None  # only requests to this path; None = any


class FakeFlashduty:
    def __init__(
        self,
        app_key: str = "fd-app-key",
        *,
        read_only_app_key: str = "fd-read-key",
        member: str = "Jira Sync",
        console_url: str = "https://console.flashcat.cloud",
        account_id: int = 2451002751131,
        account_name: str = "Flashcat Demo",
        settings: FakeSettings | None = None,
    ) -> None:
        self.app_key = app_key  # "Incidents Manage": reads and writes, acting as `member`
        self.read_only_app_key = read_only_app_key  # reads only: writes get 403 AccessDenied
        self.member = member  # the person the manage key acts as (POST /member/info)
        self.read_only_member = "Viewer"
        self.console_url = console_url.rstrip("/")
        self.account_id = account_id
        self.account_name = account_name
        self.settings = settings or FakeSettings()
        self.clock: Callable[[], float] = time.time  # seconds; replace to travel in time
        self.incidents: dict[str, dict[str, Any]] = {}
        self.timelines: dict[str, list[dict[str, Any]]] = {}
        self.persons: dict[str, dict[str, Any]] = {}  # name → {person_id, person_name, email}
        self.events: list[dict[str, Any]] = []  # every payload returned, oldest first
        self.requests: list[dict[str, Any]] = []  # every Open API request: path, query, body
        self.faults: deque[Fault] = deque()
        self.lock = threading.RLock()  # the HTTP server reads state from its own thread
        self.history = DeliveryHistory()
        self.delivery = Deliverer(self)
        self.extra_app_keys: dict[str, tuple[str, bool]] = {}  # key -> (member, can manage)
        self._alerts: dict[str, list[dict[str, Any]]] = {}
        self._last_ms = 0
        self._app: Any = None
        self._depth = 0  # nesting of _change() in the lock-holding thread
        self._outbox: list[Any] = []  # deliveries planned by the change under way
        self._background = False

    @property
    def app(self) -> Any:
        """The Starlette app serving this state's Open API (see the package docstring)."""
        if self._app is None:
            from jira_sync.devtools.fake_flashduty.api import build_app

            self._app = build_app(self)
        return self._app

    # ------------------------------------------------------------------ lookups
    def incident(self, incident_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.incidents[incident_id])

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.timelines[incident_id])

    def person(self, name: str) -> dict[str, Any]:
        """The member called `name`, made up on first use with a stable int64 id."""
        with self.lock:
            if name not in self.persons:
                self.persons[name] = {
                    "person_id": 1552048792504 + 1000 * len(self.persons),
                    "person_name": name,
                    "email": f"{name.lower().replace(' ', '.')}@example.com",
                }
            return dict(self.persons[name])

    def fail_next(self, status: int = 500, *, times: int = 1, **kw: Any) -> None:
        """Make the next `times` API requests fail (or stall, with `delay=`)."""
        with self.lock:
            self.faults.extend(Fault(status=status, **kw) for _ in range(times))

    def add_app_key(self, key: str, member: str, *, manage: bool = True) -> None:
        """Another app key of this account, acting as `member`, with or without writes."""
        with self.lock:
            self.extra_app_keys[key] = (member, manage)

    def key_member(self, key: str | None) -> tuple[str, bool] | None:
        """(member name, may write) for a valid app key, else None."""
        with self.lock:
            if key and key == self.app_key:
                return self.member, True
            if key and key == self.read_only_app_key:
                return self.read_only_member, False
            return self.extra_app_keys.get(key or "")

    # ------------------------------------------------------------------ webhooks
    def add_webhook(self, endpoint: str, *, headers: dict[str, str] | None = None,
                    channel_ids: Any = None, event_types: Any = None, **kw: Any
                    ) -> WebhookIntegration:
        """An Incident Webhook integration; later changes are pushed to it. `kw`: name,
        verify, down, integration_id. Change its attributes later to reconfigure it."""
        with self.lock:
            return self.delivery.add(endpoint, headers=headers, channel_ids=channel_ids,
                                     event_types=event_types, **kw)

    def remove_webhook(self, integration_id: int) -> None:
        with self.lock:
            del self.delivery.hooks[integration_id]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery record still retained, oldest first, as the history API shows it."""
        self.purge_history()
        return [r.item(self.settings.time_zone) for r in self.history.all()]

    def purge_history(self) -> None:
        self.history.purge(int((self.clock() - self.settings.history_retention) * 1000))

    def wait_deliveries(self, timeout: float = 10.0) -> None:
        """Block until background deliveries are done (TimeoutError otherwise)."""
        self.delivery.wait(timeout)

    async def settle_deliveries(self, timeout: float = 10.0) -> None:
        """`wait_deliveries` for async tests: yields to the loop while waiting."""
        await self.delivery.await_idle(timeout)

    def close(self) -> None:
        """Finish pending deliveries (the worker thread then exits on its own)."""
        self.delivery.wait(30)

    # ------------------------------------------------------------------ incidents
    def open_incident(
        self, *, by: str | None = None, responders: tuple[str, ...] = ("Alice",), **overrides: Any
    ) -> dict[str, Any]:
        """Create an incident; returns the i_new payload (the incident is its `incident`).

        Created by an alert unless `by` names a person. `overrides` replace any incident
        field (incident_id, title, incident_severity, labels, alert_cnt, ...).
        """
        with self._change():
            now = self._tick() // 1000
            iid = overrides.get("incident_id") or f"{now:08x}{secrets.token_hex(8)}"
            people = [self.person(n) for n in responders]
            inc: dict[str, Any] = {
                "account_id": self.account_id, "incident_id": iid, "num": iid[-6:].upper(),
                "title": "CPU idle low on web-01", "description": "", "impact": "",
                "root_cause": "", "resolution": "", "incident_severity": "Critical",
                "progress": "Triggered", "created_at": now, "updated_at": 0,  # set by _emit
                "start_time": now, "last_time": now, "end_time": 0, "ack_time": 0,
                "close_time": 0, "snoozed_before": 0,
                "labels": {"check": "cpu idle low", "host": "web-01", "service": "checkout"},
                "fields": {}, "creator_id": self.person(by)["person_id"] if by else 0,
                "responders": [_responder(p, now) for p in people],
                "responder_ids": [p["person_id"] for p in people],
                "assigned_to": {"type": "assign", "person_ids": [p["person_id"] for p in people],
                                "assigned_at": now},
                "alert_cnt": 1, "channel_id": 1840312623504, "channel_name": "Checkout",
                "detail_url": f"{self.console_url}/incident/detail/{iid}", "group_method": "n",
                "data_source_id": 0 if by else 1840312623888,
            }
            if by:
                inc["creator"] = self.person(by)
            inc.update(copy.deepcopy(overrides))
            inc.setdefault("incident_status", inc["incident_severity"])
            self.incidents[iid], self.timelines[iid] = inc, []
            self._alerts[iid] = [_alert(inc, i) for i in range(max(1, int(inc["alert_cnt"])))]
            payload = self._emit(iid, "i_new", by, {"severity": inc["incident_severity"],
                                                    "title": inc["title"]})
            # Flashduty then notifies the responders: a feed entry with no webhook event.
            self.add_feed_entry(iid, {"type": "i_notify", "creator_id": 0, "detail": {
                "by": "email", "persons": [{"person_id": p["person_id"]} for p in people]}})
            return payload

    def set_severity(self, incident_id: str, severity: str, *, by: str | None = "Alice") -> dict:
        with self._change():
            inc = self.incidents[incident_id]
            old, inc["incident_severity"] = inc["incident_severity"], severity
            if inc["progress"] != "Closed":
                inc["incident_status"] = severity
            return self._emit(incident_id, "i_r_severity", by, {"from": old, "to": severity})

    def ack(self, incident_id: str, *, by: str = "Alice") -> dict:
        with self._change():
            inc, now = self.incidents[incident_id], int(self.clock())
            inc["progress"] = "Processing"
            inc["ack_time"] = inc.get("ack_time") or now  # the earliest acknowledgement
            who = self.person(by)
            entry = next((r for r in inc["responders"] if r["person_id"] == who["person_id"]), None)
            if entry is None:
                entry = _responder(who, now)
                inc["responders"].append(entry)
                inc["responder_ids"].append(who["person_id"])
            entry["acknowledged_at"] = now
            return self._emit(incident_id, "i_ack", by)

    def unack(self, incident_id: str, *, by: str = "Alice") -> dict:
        return self.emit(incident_id, "i_unack", by=by, progress="Triggered", ack_time=0)

    def resolve(self, incident_id: str, *, by: str | None = "Alice", root_cause: str | None = None,
                resolution: str | None = None, source: str = "console") -> dict:
        """Close it, by a person or (`by=None`) by the alerts recovering. Root cause and
        resolution ride on the one i_rslv event (inferred: no i_r_rc/i_r_rsltn of their own)."""
        with self._change():
            inc, now = self.incidents[incident_id], int(self.clock())
            inc.update(progress="Closed", incident_status="Ok", close_time=now, end_time=now)
            inc["closer"] = self.person(by) if by else {}
            for name, value in (("root_cause", root_cause), ("resolution", resolution)):
                if value is not None:
                    inc[name] = value
            return self._emit(incident_id, "i_rslv", by, {"from": source if by else "autorslv"})

    def reopen(self, incident_id: str, *, by: str | None = "Alice", reason: str = "") -> dict:
        with self._change():
            inc = self.incidents[incident_id]
            inc.update(progress="Triggered", incident_status=inc["incident_severity"],
                       close_time=0, end_time=0, ack_time=0)
            inc.pop("closer", None)
            return self._emit(incident_id, "i_reopen", by, {"reason": reason} if reason else {})

    def add_comment(
        self, incident_id: str, text: str, author: str = "Alice", *, mute_reply: bool = False
    ) -> dict:
        """Comment on it; the i_comm payload says only that a comment was added (flashduty.md §3).
        With `mute_reply`, `settings.mute_reply_skips_webhook` decides whether it is pushed."""
        with self._change():
            skip = mute_reply and self.settings.mute_reply_skips_webhook
            return self._emit(incident_id, "i_comm", author,
                              {"comment": text, "mute_reply": mute_reply}, deliver=not skip)

    def change_title(self, incident_id: str, title: str, *, by: str = "Alice") -> dict:
        return self.reset(incident_id, "title", title, by=by)

    def change_description(self, incident_id: str, description: str, *, by: str = "Alice") -> dict:
        return self.reset(incident_id, "description", description, by=by)

    def reset(self, incident_id: str, field: str, value: str, *, by: str = "Alice") -> dict:
        """Change title/description/impact/root_cause/resolution, with its own event type.
        The feed's detail has from/to for the title only (the spec: the others have no fields)."""
        with self._change():
            old = self.incidents[incident_id][field]
            self.incidents[incident_id][field] = value
            detail = {"from": old, "to": value} if field == "title" else {}
            return self._emit(incident_id, _RESETS[field], by, detail)

    def set_field(self, incident_id: str, name: str, value: Any, *, by: str = "Alice") -> dict:
        with self._change():
            fields = self.incidents[incident_id].setdefault("fields", {})
            old, fields[name] = fields.get(name), value
            return self._emit(incident_id, "i_r_field", by,
                              {"field_name": name, "from": old, "to": value})

    def set_labels(
        self, incident_id: str, labels: dict[str, str], *, event_type: str = "i_r_field",
        by: str | None = None,
    ) -> dict:
        """Replace the labels. Flashduty documents no event for a label change (labels come
        from alerts); the new labels ride on the next event, so this one's type is yours."""
        return self.emit(incident_id, event_type, by=by, labels=dict(labels))

    def custom_action(self, incident_id: str, *, by: str = "Alice") -> dict:
        """The Custom Action button: `i_custom`, whose incident also carries `alerts[]` (§2)."""
        with self._change():
            payload = self._emit(incident_id, "i_custom", by, feed=False)
            payload["incident"]["alerts"] = copy.deepcopy(self._alerts[incident_id])
            self.events[-1] = copy.deepcopy(payload)
            return payload

    def emit(self, incident_id: str, event_type: str, *, by: str | None = None,
             detail: dict | None = None, **changes: Any) -> dict:
        """Any event, known or future: apply `changes` to the incident, then push it."""
        with self._change():
            self.incidents[incident_id].update(copy.deepcopy(changes))
            return self._emit(incident_id, event_type, by, detail)

    def add_feed_entry(self, incident_id: str, entry: Any) -> Any:
        """Append a raw timeline entry: a dict gets realistic values for the keys it lacks;
        anything else is stored as is, to test a client against a malformed feed."""
        with self.lock:
            if not isinstance(entry, dict):
                self.timelines[incident_id].append(copy.deepcopy(entry))
                return copy.deepcopy(entry)
            ms = self._tick()
            full = {"ref_id": incident_id, "type": "i_comm", "detail": {},
                    "account_id": self.account_id, "creator_id": 0, "created_at": ms,
                    "updated_at": ms, **copy.deepcopy(entry)}
            self.timelines[incident_id].append(full)
            return copy.deepcopy(full)

    # ------------------------------------------------------------------ internals
    @contextmanager
    def _change(self, *, background: bool = False) -> Iterator[None]:
        """Hold the lock for one change (nested changes join it); once the outermost ends
        and the lock is free, deliver what it emitted, here or on the worker thread."""
        with self.lock:
            if self._depth == 0:
                self._background = background
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                outbox, background = [], self._background
                if self._depth == 0:
                    outbox, self._outbox = self._outbox, []
        if outbox:
            background = background or self.settings.deliver_in_background or _in_event_loop()
            self.delivery.dispatch(outbox, background=background)

    def _tick(self) -> int:
        """Now in ms, strictly after the previous tick: event order is never ambiguous."""
        self._last_ms = max(int(self.clock() * 1000), self._last_ms + 1)
        return self._last_ms

    def _emit(self, iid: str, event_type: str, by: str | None, detail: dict | None = None,
              *, feed: bool = True, deliver: bool = True) -> dict[str, Any]:
        ms = self._tick()
        inc = self.incidents[iid]
        moved = inc.get("updated_at", 0) + 1 if self.settings.strict_updated_at else 0
        inc["updated_at"] = max(ms // 1000, moved)
        person = self.person(by) if by else None
        pid = person["person_id"] if person else 0
        if feed:
            self.timelines[iid].append({
                "ref_id": iid, "type": event_type, "detail": copy.deepcopy(detail or {}),
                "account_id": self.account_id, "creator_id": pid, "person_id": pid,
                "created_at": ms, "updated_at": ms,
            })
        payload: dict[str, Any] = {"event_id": secrets.token_hex(16), "event_time": ms,
                                   "event_type": event_type, "incident": copy.deepcopy(inc)}
        if person:
            payload["person"] = person
        self.events.append(copy.deepcopy(payload))
        if deliver:
            self._outbox.extend(self.delivery.plan(payload))
        return payload


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _responder(person: dict[str, Any], now: int) -> dict[str, Any]:
    return {**person, "assigned_at": now, "acknowledged_at": 0}


def _alert(inc: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        "alert_id": f"{inc['incident_id'][:16]}{i:08x}", "data_source_id": 1840312623888,
        "title": inc["title"], "description": inc["description"],
        "alert_key": f"{inc['incident_id']}-{i}", "alert_severity": inc["incident_severity"],
        "alert_status": inc["incident_severity"], "progress": inc["progress"],
        "start_time": inc["start_time"], "last_time": inc["last_time"], "end_time": 0,
        "labels": dict(inc.get("labels") or {}),
    }
