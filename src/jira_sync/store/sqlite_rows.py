"""Multi-row INSERTs on SQLite for the webhook path, without SQLAlchemy's per-value work.

A group commit writes a batch of deliveries with two statements (`intake.accept_events`).
Executed through SQLAlchemy, each value of each row went through its parameter machinery
(`construct_params`, bind processors, the insertmanyvalues batches): profiled at about 25 µs
of the ~40 µs of CPU a row cost, more than SQLite spent storing it. Here the statement is
still written and compiled by SQLAlchemy, once; its SQL is repeated for n rows and run on the
driver with a flat tuple of values. PostgreSQL gets the same from one array per column
(`intake._postgresql_statement`).
"""
from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

_DIALECT = sqlite.dialect()


class ManyRows:
    """An `INSERT ... VALUES (?, ...) [ON CONFLICT ...] [RETURNING ...]` for any number of rows."""

    def __init__(self, statement: Any, table: sa.Table, names: list[str]) -> None:
        compiled = statement.compile(dialect=_DIALECT, column_keys=names)
        sql = str(compiled)
        start = sql.index(" VALUES (") + len(" VALUES ")
        end = sql.index(")", start) + 1
        width = sql[start:end].count("?")
        if sql[start:end] != "(" + ", ".join(["?"] * width) + ")":
            raise ValueError(f"not a plain VALUES group: {sql[start:end]}")
        # the row's values in the compiled order; a column the caller does not give gets its
        # default written into the SQL (scalars only), as SQLAlchemy would have sent it
        keys = list(compiled.positiontup[:width])  # type: ignore[index]
        slots = [("?" if key in names else _literal(table, key)) for key in keys]
        self._head, self._group, self._tail = sql[:start], "(" + ", ".join(slots) + ")", sql[end:]
        self._row = operator.itemgetter(*[key for key in keys if key in names])
        # the values after VALUES (constants in ON CONFLICT's SET), once per statement
        self._trailing = tuple(compiled.params[k] for k in compiled.positiontup[width:])  # type: ignore[index]

    @functools.lru_cache(maxsize=64)
    def sql(self, n: int) -> str:
        return self._head + ", ".join([self._group] * n) + self._tail

    def parameters(self, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        return (*itertools.chain.from_iterable(map(self._row, rows)), *self._trailing)


def _literal(table: sa.Table, key: str) -> str:
    default = table.c[key].default
    value = getattr(default, "arg", None)
    if default is None or not default.is_scalar or not isinstance(value, (bool, int, float)):
        raise ValueError(f"{table.name}.{key}: not given and no numeric default")
    return str(int(value) if isinstance(value, bool) else value)
