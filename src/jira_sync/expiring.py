"""`Expiring`: a small in-process cache whose entries expire after a fixed time.

For answers from Jira that are asked again and again within seconds and change rarely (a
Server site's full project list, a project's create metadata while a form is being filled
in). Expired entries are dropped whenever a new one is stored, so it never grows beyond
what one time-to-live's worth of traffic puts in it.
"""
from __future__ import annotations

import time
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class Expiring(Generic[V]):
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: V) -> None:
        now = time.monotonic()
        for stale in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[stale]
        self._entries[key] = (now + self.ttl, value)
