"""A stand-in for a SQL Server ODBC session under the real :class:`Connection` (SQL Server cannot
run here): ``pyodbc.connect`` is replaced by :class:`FakeServer`, whose sessions keep a database
context the way SQL Server does (the DSN's DATABASE at login, then each ``USE`` until the next),
record every statement with the context it ran in, and answer:

- ``SELECT DB_NAME() ...`` with the session's context;
- ``USE [x]`` by switching, or with SQL Server's own error text when ``x`` is offline (942),
  restoring (927), a non-readable secondary (976) or missing (911);
- everything else through ``answer(sql, params, database)`` -> rows as dicts (an empty result by
  default), columns in the order of the statement's projection.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyodbc

from l4agent.dbaccess.connection import dsn_value

USE = re.compile(r"^\s*USE\s+\[((?:[^\]]|\]\])*)\]\s*$", re.I)
# SQL Server's messages for a catalog that cannot be opened, as ODBC Driver 18 wraps them.
CANNOT_OPEN = {
    "offline": ("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Database '{0}' cannot be opened "
                         "because it is offline. (942) (SQLExecDirectW)"),
    "restoring": ("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Database '{0}' cannot be opened. "
                           "It is in the middle of a restore. (927) (SQLExecDirectW)"),
    "secondary": ("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The target database, '{0}', is "
                           "participating in an availability group and is currently not accessible for queries. "
                           "(976) (SQLExecDirectW)"),
    "missing": ("42000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Database '{0}' does not exist. "
                         "Make sure that the name is entered correctly. (911) (SQLExecDirectW)"),
}


@dataclass
class Executed:
    database: str
    sql: str
    params: tuple


@dataclass
class FakeServer:
    answer: Callable[[str, tuple, str], list[dict[str, Any]]] = lambda sql, params, database: []
    #: catalog -> "offline" | "restoring" | "secondary" | "missing"
    unavailable: dict[str, str] = field(default_factory=dict)
    executed: list[Executed] = field(default_factory=list)
    dsns: list[str] = field(default_factory=list)

    def connect(self, dsn: str, timeout: int = 0, autocommit: bool = False) -> _Handle:
        self.dsns.append(dsn)
        return _Handle(self, dsn_value(dsn, "DATABASE") or "master")

    def install(self, monkeypatch) -> FakeServer:
        monkeypatch.setattr(pyodbc, "connect", self.connect)
        return self

    def statements(self, skip_setup: bool = True) -> list[Executed]:
        """What ran, without session set-up, USE and the DB_NAME() probe at open."""
        setup = ("SET ", "USE ", "SELECT DB_NAME() AS catalog_name")
        return [e for e in self.executed if not (skip_setup and e.sql.strip().startswith(setup))]


class _Handle:
    def __init__(self, server: FakeServer, database: str):
        self.server, self.database, self.timeout = server, database, 0

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        pass


class _Cursor:
    def __init__(self, handle: _Handle):
        self.handle = handle
        self.description = None
        self._rows: list[tuple] = []

    def execute(self, sql: str, *params: Any) -> _Cursor:
        server, handle = self.handle.server, self.handle
        server.executed.append(Executed(handle.database, sql, tuple(params)))
        self.description, self._rows = None, []
        use = USE.match(sql)
        if use:
            name = use.group(1).replace("]]", "]")
            if name in server.unavailable:
                state, text = CANNOT_OPEN[server.unavailable[name]]
                raise pyodbc.Error(state, text.format(name))
            handle.database = name
            return self
        if sql.strip().startswith("SET "):
            return self
        if sql.strip() == "SELECT DB_NAME() AS catalog_name":
            self._result([{"catalog_name": handle.database}])
            return self
        self._result(server.answer(sql, tuple(params), handle.database))
        return self

    def _result(self, rows: list[dict[str, Any]]) -> None:
        columns = list(rows[0]) if rows else ["result"]
        self.description = [(c,) for c in columns]
        self._rows = [tuple(r.values()) for r in rows]

    def nextset(self) -> bool:
        return False

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchmany(self, n: int) -> list[tuple]:
        return list(self._rows[:n])

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def close(self) -> None:
        pass
