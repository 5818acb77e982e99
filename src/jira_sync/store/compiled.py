"""Hot statements compiled once by SQLAlchemy and run on the database driver itself.

The worker's writes and the webhook batch run for every event. Through SQLAlchemy's
execution each paid for its machinery on every call (cache-key generation, parameter
processing, cursor and result wrapping): on PostgreSQL ~230 µs of ~600 (`pg_direct.py`), on
SQLite most of a statement's CPU (`sqlite_inline.py`). Built with SQLAlchemy and compiled
once for the engine's dialect, a statement keeps SQLAlchemy's SQL, its column defaults and
its type conversions (bind and result processors: JSON, booleans), without that per-call work.
Only statements without expanding parameters (`IN` lists) qualify: checked when compiled.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in their order in the SQL ($1, $2, ... or ?, ?, ...)
    fixed: dict[str, Any]  # values SQLAlchemy put in the statement itself (column defaults)
    processors: tuple[tuple[int, Processor], ...]  # (position, bind processor)
    columns: tuple[str, ...]  # the result's column names
    types: tuple[Any, ...]  # and their SQLAlchemy types
    dialect: Any

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        args = [params[n] if n in params else self.fixed[n] for n in self.names]  # KeyError: a parameter missing
        for i, process in self.processors:
            args[i] = process(args[i])
        return args

    @functools.cached_property
    def results(self) -> tuple[tuple[int, Processor], ...]:
        """(position, result processor) of the columns that need one. Asked for by the SQLite
        path only: asyncpg decodes its own rows (and PostgreSQL's processors want the column's
        type from the driver)."""
        found = [(i, type_._cached_result_processor(self.dialect, None)) for i, type_ in enumerate(self.types)]
        return tuple((i, p) for i, p in found if p is not None)

    def rows(self, raw: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        """The driver's row tuples as dicts by column name, converted as SQLAlchemy would
        (SQLite's 0/1 as booleans, JSON text as values)."""
        out = []
        for row in raw:
            values = list(row)
            for i, process in self.results:
                values[i] = process(values[i])
            out.append(dict(zip(self.columns, values)))
        return out


@functools.cache
def compiled(statement: Any, dialect: Any, *, skip_bind: Callable[[Any, Any], bool] | None = None) -> Compiled:
    """`statement` compiled once for `dialect` (the engine's: its JSON serializer is the one
    configured). Statements are built once and cached, so the same object comes back every
    time. `skip_bind(type, dialect)`: true for a parameter type whose bind processor is not
    needed (a module-level function: it is part of the cache key)."""
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
    binds = {n: p for n, p in c._bind_processors.items() if not (skip_bind and skip_bind(c.binds[n].type, dialect))}
    return Compiled(c.string, names, fixed,
                    tuple((i, binds[n]) for i, n in enumerate(names) if binds.get(n) is not None),
                    tuple(entry.keyname for entry in c._result_columns),
                    tuple(entry.type for entry in c._result_columns), dialect)
