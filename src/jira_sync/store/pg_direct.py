"""PostgreSQL's hot statements run on the asyncpg connection itself.

Every webhook batch and each of the worker's writes (claim, record, finish, fail) is one
statement, built by SQLAlchemy. Executed through SQLAlchemy, each cost ~600 us of this
process's CPU on this machine, of which ~230 us was SQLAlchemy's execution around the
driver (parameter processing, cursor adaptation, result wrapping; measured side by side,
asyncpg alone ~380 us with its round trip). Here such a statement is compiled once, its
parameters are put in the compiled order, and it runs on the driver connection that
SQLAlchemy's pool hands out, so pooling, connection set-up (its JSON codecs) and
disposal stay SQLAlchemy's. The statement is its own transaction (autocommit: asyncpg
opens none), with no BEGIN and COMMIT round trips around it.

The rows come back as asyncpg Records (`record["column"]`, `dict(record)`); JSON columns are
already decoded (SQLAlchemy's codec on the connection). Only statements without expanding
parameters (`IN` lists) qualify: checked when compiled.
"""
from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from .. import turns
from .compiled import Compiled
from .compiled import compiled as compiled_once
from .db import ConstraintViolated


def compiled(statement: Any, dialect: Any) -> Compiled:
    """`statement` compiled once (`store/compiled.py`); arrays whose items need no conversion go
    to asyncpg as they are."""
    return compiled_once(statement, dialect, skip_bind=_plain_array)


def _plain_array(type_: Any, dialect: Any) -> bool:
    """An array whose items need no conversion: asyncpg takes the list as it is (SQLAlchemy's
    processor would only copy it, item by item)."""
    item = getattr(type_, "item_type", None)
    return item is not None and item.dialect_impl(dialect).bind_processor(dialect) is None


async def fetch(engine: AsyncEngine, statement: Any, params: dict[str, Any]) -> list[asyncpg.Record]:
    """Run `statement` (a single statement: its own transaction) and return its rows. A unique
    or foreign key violation is ConstraintViolated, as from `db.write`; after any other failure
    the connection is dropped from the pool (its state is unknown: the server may be gone).

    The pool's raw connection, not an `AsyncConnection`: that wrapper's set-up and close cost
    ~70-140 us of CPU per statement (a one-row SELECT 269-331 us through it, 182-201 us here,
    side by side on this machine), and a worker runs about three of these per new incident."""
    c = compiled(statement, engine.dialect)
    args = c.arguments(params)
    pooled = await engine.raw_connection()
    try:
        rows = await pooled.driver_connection.fetch(c.sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        await greenlet_spawn(pooled.close)
        raise ConstraintViolated(str(exc)) from exc
    except BaseException:
        # closing a broken connection talks to the driver: on SQLAlchemy's greenlet, as it expects
        await greenlet_spawn(pooled.invalidate)
        raise
    # on SQLAlchemy's greenlet: returning it may close it (an overflow connection), a driver call
    await greenlet_spawn(pooled.close)
    await turns.take()  # in a reconcile, once the connection is free again (turns.py)
    return rows
