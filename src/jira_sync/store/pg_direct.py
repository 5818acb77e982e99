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

import functools
from dataclasses import dataclass
from typing import Any, Callable

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from .. import turns
from .db import ConstraintViolated


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the order of $1, $2, ...
    fixed: dict[str, Any]  # values SQLAlchemy put in the statement itself (column defaults)
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        args = [params[n] if n in params else self.fixed[n] for n in self.names]  # KeyError: a parameter missing
        for i, process in self.processors:
            args[i] = process(args[i])
        return args


@functools.cache
def compiled(statement: Any, dialect: Any) -> Compiled:
    """`statement` compiled once for the engine's dialect (statements are built once and
    cached, so the same object comes back every time)."""
    c = statement.compile(dialect=dialect)
    if c.literal_execute_params or c.post_compile_params:
        raise ValueError("a statement with expanding parameters cannot run on the driver directly")
    if c.update_prefetch:
        raise ValueError("a statement with onupdate defaults cannot run on the driver directly")
    names = tuple(c.positiontup or ())
    fixed = {n: c.binds[n].value for n in names if not c.binds[n].required}
    for column in c.insert_prefetch:  # Python-side column defaults of an INSERT (from SELECT)
        if not column.default.is_scalar:
            raise ValueError(f"{column}: a default computed in Python cannot run on the driver directly")
        fixed[column.key] = column.default.arg
    processors = {n: p for n, p in c._bind_processors.items() if not _plain_array(c.binds[n].type, dialect)}
    return Compiled(c.string, names, fixed,
                    tuple((i, processors[n]) for i, n in enumerate(names) if processors.get(n) is not None))


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
