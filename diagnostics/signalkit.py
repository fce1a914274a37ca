"""Helpers of the outage-signal checks (issue 19): reading a statement that needs a grant, and
the limits of integer key types."""

from __future__ import annotations

from typing import Any

from l4agent.dbaccess.connection import DatabaseError
from l4agent.diagnostics.base import Check, CheckContext
from l4agent.diagnostics.coverage import NotExamined

#: largest value of each integer type (signed unless named unsigned)
TYPE_MAX = {
    "tinyint": 127, "smallint": 32767, "mediumint": 8388607, "int": 2147483647, "integer": 2147483647,
    "bigint": 9223372036854775807,
    "tinyint unsigned": 255, "smallint unsigned": 65535, "mediumint unsigned": 16777215,
    "int unsigned": 4294967295, "bigint unsigned": 18446744073709551615,
}

#: the next wider type for an ALTER that widens a key
WIDER = {"tinyint": "smallint", "smallint": "int", "mediumint": "int", "int": "bigint", "integer": "bigint",
         "int2": "integer", "int4": "bigint", "smallint unsigned": "int unsigned",
         "tinyint unsigned": "smallint unsigned", "mediumint unsigned": "int unsigned",
         "int unsigned": "bigint unsigned"}


def read(check: Check, ctx: CheckContext, name: str, grant: str, params=(), catalog: str | None = None,
         ) -> list[dict[str, Any]]:
    """Rows of the check's statement ``name``; a permission error becomes NotExamined naming
    ``grant`` ("not examined (grant): ..."), never an empty answer that would read as healthy."""
    try:
        return ctx.query(check, name, params, catalog=catalog)
    except DatabaseError as error:
        if error.kind == "permission":
            raise NotExamined(f"not examined (grant): needs {grant}; {error}", catalog) from None
        raise


#: MariaDB lists every source (also stopped); MySQL 8.0.22+ has SHOW REPLICA STATUS instead
MYSQL_REPLICA_QUERIES = {"version": "SELECT VERSION() AS version", "replicas": "SHOW ALL SLAVES STATUS",
                         "replicas_mysql": "SHOW REPLICA STATUS"}


def mysql_replicas(check: Check, ctx: CheckContext) -> list[dict[str, Any]]:
    """Replication sources of a MariaDB or MySQL server, rows under MariaDB's column names; a
    missing SLAVE MONITOR / REPLICATION CLIENT grant is NotExamined."""
    from l4agent.collectors.database.mysql import replica_row

    versions = ctx.query(check, "version")
    version = str(versions[0]["version"] if versions else "").lower()
    name = "replicas" if "mariadb" in version else "replicas_mysql"
    return [replica_row(row) for row in read(check, ctx, name, "SLAVE MONITOR (GRANT SLAVE MONITOR ON *.*; "
                                                               "MySQL: REPLICATION CLIENT)")]


