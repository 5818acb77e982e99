"""Console accounts: Argon2id passwords, server-side sessions, CSRF tokens.

Used by the console's pages (`console/auth.py` reads the cookies) and the CLI's `users` commands.

- Passwords are hashed with Argon2id at OWASP's recommended minimum (19 MiB, 2 passes,
  1 lane: Password Storage Cheat Sheet). argon2-cffi's default profile takes 64 MiB per
  hash, which showed up as +50 MB peak memory of the whole service for one sign-in. A hash
  made with other parameters is upgraded at the next sign-in.
- A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure when the public
  URL is https). Only its SHA-256 is stored, so a copy of the database signs nobody in.
  Sessions end after 12 idle hours, and all of a user's sessions end when the password changes.
- Every form post carries a CSRF token: an HMAC of the session token under the server's
  secret key, so it needs no storage and is worthless without the cookie. The sign-in form,
  which has no session yet, uses a double-submit cookie instead.
- Repeated failed sign-ins from one address are slowed down (5 per 5 minutes).
"""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from ..store import users as store
from ..store.db import Engine, read, write

SESSION_IDLE_SECONDS = 12 * 3600
MIN_PASSWORD_LENGTH = 10
FAILURE_WINDOW = 300.0
MAX_FAILURES = 5
MAX_TRACKED_CLIENTS = 10_000  # bounds the memory a flood of failing addresses can take

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that "no such user" and "wrong
    password" take the same time. Made on first use, not at import."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user name or password that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    token: str  # the cookie value; only its hash is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 100 or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise AccountError("a user name is 1-100 printable characters without spaces")
    return name


def _could_be_username(name: str) -> bool:
    try:
        return check_username(name) == name
    except AccountError:
        return False


@dataclass
class Accounts:
    engine: Engine
    secret_key: str  # the server's Fernet key: the HMAC key for CSRF tokens
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    # ------------------------------------------------------------ users (CLI)
    async def add_user(self, username: str, password: str) -> int:
        name = check_username(username)
        check_new_password(password)
        async with write(self.engine) as conn:
            if await store.find_user(conn, name) is not None:
                raise AccountError(f"a user named {name!r} exists already")
            return await store.add_user(conn, name, _hasher.hash(password))

    async def set_password(self, username: str, password: str) -> None:
        check_new_password(password)
        async with write(self.engine) as conn:
            user = await store.find_user(conn, username)
            if user is None:
                raise AccountError(f"no user named {username!r}")
            await store.set_password(conn, user.id, _hasher.hash(password))

    async def remove_user(self, username: str) -> None:
        async with write(self.engine) as conn:
            if not await store.remove_user(conn, username):
                raise AccountError(f"no user named {username!r}")

    async def usernames(self) -> list[str]:
        async with read(self.engine) as conn:
            return [u.username for u in await store.list_users(conn)]

    async def has_users(self) -> bool:
        async with read(self.engine) as conn:
            return await store.count_users(conn) > 0

    # ------------------------------------------------------------ sessions (web)
    def throttled(self, client: str) -> bool:
        recent = self._failures[client]
        while recent and recent[0] < time.monotonic() - FAILURE_WINDOW:
            recent.popleft()
        return len(recent) >= MAX_FAILURES

    async def sign_in(self, username: str, password: str, client: str) -> SignedIn | None:
        """A new session for the right password; None otherwise (and the failure is counted)."""
        name = username.strip()
        user = None
        if _could_be_username(name):  # else no account has it (and PostgreSQL refuses a NUL in a query)
            async with read(self.engine) as conn:
                user = await store.find_user(conn, name)
        # ~30 ms of CPU: in a thread (cffi releases the GIL), so webhooks are not held up
        stored = user.password_hash if user else None
        ok = await asyncio.to_thread(lambda: _verify(stored or _dummy_hash(), password))
        ok = ok and user is not None
        if not ok or user is None:
            if len(self._failures) >= MAX_TRACKED_CLIENTS:
                self._forget_quiet_clients()
            self._failures[client].append(time.monotonic())
            return None
        self._failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        async with write(self.engine) as conn:
            if _hasher.check_needs_rehash(user.password_hash):
                await store.set_password(conn, user.id, _hasher.hash(password))
            await store.add_session(conn, user.id, hash_token(token), time.time() + SESSION_IDLE_SECONDS)
        return SignedIn(user.id, user.username, token)

    def _forget_quiet_clients(self) -> None:
        horizon = time.monotonic() - FAILURE_WINDOW
        for client in [c for c, times in self._failures.items() if not times or times[-1] < horizon]:
            del self._failures[client]

    async def session(self, token: str | None) -> SignedIn | None:
        if not token:
            return None
        token_hash = hash_token(token)
        async with read(self.engine) as conn:
            found = await store.session_user(conn, token_hash)
        if found is None:
            return None
        # slide the idle timeout, at most once a minute per session
        renewed = time.time() + SESSION_IDLE_SECONDS
        if renewed - found.expires_at > 60:
            async with write(self.engine) as conn:
                await store.extend_session(conn, token_hash, renewed)
        return SignedIn(found.id, found.username, token)

    async def sign_out(self, token: str | None) -> None:
        if token:
            async with write(self.engine) as conn:
                await store.drop_session(conn, hash_token(token))

    # ------------------------------------------------------------ CSRF
    def csrf_token(self, session_token: str) -> str:
        return hmac.new(self.secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_token: str, presented: str | None) -> bool:
        return bool(presented) and same_secret(self.csrf_token(session_token), presented or "")


def same_secret(expected: str, presented: str) -> bool:
    """Constant-time comparison of any two texts. `hmac.compare_digest` refuses str with
    non-ASCII characters (TypeError: a 500 for a hostile form), so both are compared as
    UTF-8 bytes; `surrogatepass` keeps even a lone surrogate comparable."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), presented.encode("utf-8", "surrogatepass"))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
