"""Console accounts and sessions (rows only; hashing and cookies live in `console/auth.py`)."""
from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import console_sessions, console_users


async def find_user(conn: AsyncConnection, username: str) -> Any | None:
    return (await conn.execute(sa.select(console_users).where(console_users.c.username == username))).first()


async def list_users(conn: AsyncConnection) -> list[Any]:
    return list((await conn.execute(sa.select(console_users).order_by(console_users.c.id))).all())


async def count_users(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(console_users)) or 0)


async def add_user(conn: AsyncConnection, username: str, password_hash: str) -> int:
    result = await conn.execute(
        sa.insert(console_users).values(username=username, password_hash=password_hash, created_at=time.time())
    )
    return int(result.inserted_primary_key[0])


async def set_password(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(sa.update(console_users).where(console_users.c.id == user_id).values(password_hash=password_hash))
    # a new password signs out every session of the old one
    await conn.execute(sa.delete(console_sessions).where(console_sessions.c.user_id == user_id))


async def remove_user(conn: AsyncConnection, username: str) -> bool:
    return (await conn.execute(sa.delete(console_users).where(console_users.c.username == username))).rowcount > 0


async def add_session(conn: AsyncConnection, user_id: int, token_hash: str, expires_at: float) -> None:
    now = time.time()
    await conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at < now))
    await conn.execute(
        sa.insert(console_sessions).values(token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at)
    )
    await conn.execute(sa.update(console_users).where(console_users.c.id == user_id).values(last_login_at=now))


async def session_user(conn: AsyncConnection, token_hash: str) -> Any | None:
    """The signed-in user for a session, or None when unknown or expired."""
    s, u = console_sessions.c, console_users.c
    q = (
        sa.select(u.id, u.username, s.expires_at)
        .select_from(console_sessions.join(console_users, s.user_id == u.id))
        .where(s.token_hash == token_hash, s.expires_at > time.time())
    )
    return (await conn.execute(q)).first()


async def extend_session(conn: AsyncConnection, token_hash: str, expires_at: float) -> None:
    await conn.execute(
        sa.update(console_sessions).where(console_sessions.c.token_hash == token_hash).values(expires_at=expires_at)
    )


async def drop_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(sa.delete(console_sessions).where(console_sessions.c.token_hash == token_hash))
