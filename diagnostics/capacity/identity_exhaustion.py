"""capacity.identity_exhaustion: a sequence, auto_increment or IDENTITY close to its type's end.

When the counter reaches the maximum of its column's type, every INSERT fails: the ERP stops
booking. PostgreSQL sequences are measured against the smaller of their own maximum and the
maximum of the column they feed (a bigint sequence behind an int4 key fails at 2^31-1); MariaDB
auto_increment and SQL Server IDENTITY against their column type. One finding per column, with
the ALTER that widens it.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.collectors.database.postgresql import SEQUENCES as PG_SEQUENCES
from l4agent.dbaccess.values import number, truthy
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.checkkit import MSSQL_CATALOG_STATE, each_catalog, in_scope, level, plural, qualified
from l4agent.diagnostics.signalkit import WIDER, read

MYSQL_COLUMNS = """
SELECT c.TABLE_SCHEMA AS catalog, c.TABLE_NAME AS table_name, c.COLUMN_NAME AS column_name,
       c.COLUMN_TYPE AS column_type, c.DATA_TYPE AS data_type, c.IS_NULLABLE AS is_nullable,
       t.AUTO_INCREMENT AS next_value,
       CASE WHEN c.COLUMN_TYPE LIKE '%unsigned%' THEN
         CASE c.DATA_TYPE WHEN 'tinyint' THEN 255 WHEN 'smallint' THEN 65535
                          WHEN 'mediumint' THEN 16777215 WHEN 'int' THEN 4294967295
                          ELSE 18446744073709551615 END
       ELSE
         CASE c.DATA_TYPE WHEN 'tinyint' THEN 127 WHEN 'smallint' THEN 32767
                          WHEN 'mediumint' THEN 8388607 WHEN 'int' THEN 2147483647
                          ELSE 9223372036854775807 END
       END AS type_max
FROM information_schema.COLUMNS AS c
JOIN information_schema.TABLES AS t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.EXTRA LIKE '%auto_increment%'
  AND c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
"""

# Without a privilege on a table the account does not see it at all in information_schema.
MYSQL_VISIBLE = """
SELECT COUNT(*) AS tables
FROM information_schema.TABLES
WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
"""

MSSQL_IDENTITY = """
SELECT OBJECT_SCHEMA_NAME(ic.object_id) AS schema_name, OBJECT_NAME(ic.object_id) AS table_name,
       ic.name AS column_name, TYPE_NAME(ic.system_type_id) AS column_type, ic.precision,
       CAST(ic.last_value AS float) AS last_value, CAST(ic.increment_value AS float) AS increment_value
FROM sys.identity_columns AS ic
JOIN sys.objects AS o ON o.object_id = ic.object_id
WHERE o.is_ms_shipped = 0
  AND ic.last_value IS NOT NULL
"""

MSSQL_MAX = {"tinyint": 255, "smallint": 32767, "int": 2147483647, "bigint": 9223372036854775807}


class IdentityExhaustion(Check):
    id = "capacity.identity_exhaustion"
    engines = frozenset({"postgresql", "mysql", "mssql"})
    title = "Sequence / auto_increment / IDENTITY close to its type's maximum"
    queries = {
        "postgresql": {"sequences": PG_SEQUENCES},
        "mysql": {"columns": MYSQL_COLUMNS, "visible": MYSQL_VISIBLE},
        "mssql": {"catalog_state": MSSQL_CATALOG_STATE, "identity": MSSQL_IDENTITY},
    }
    catalog_statements = frozenset({"sequences", "identity"})
    defaults = {"warning_ratio": 0.8, "critical_ratio": 0.95}
    max_rows = 20000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from getattr(self, f"_{ctx.engine}")(ctx)

    def _severity(self, ctx: CheckContext, ratio: float) -> str | None:
        return level(ratio, ctx.options["warning_ratio"], ctx.options["critical_ratio"])

    def _postgresql(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from each_catalog(self, ctx, lambda catalog: self._pg_catalog(ctx, catalog))

    def _pg_catalog(self, ctx: CheckContext, catalog: str | None) -> Iterator[Finding]:
        rows = ctx.query(self, "sequences", catalog=catalog)
        ctx.examined("sequences", len(rows), catalog=catalog)
        unreadable = [r for r in rows if not truthy(r["readable"])]
        if unreadable:
            ctx.not_examined(f"{self.id}: {plural(len(unreadable), 'sequence')}",
                             "grant: SELECT on the sequences (GRANT SELECT ON ALL SEQUENCES IN SCHEMA ...)",
                             catalog=catalog)
        for row in rows:
            ratio = number(row["usage_ratio"], None)
            severity = self._severity(ctx, ratio) if ratio is not None else None
            if severity is None:
                continue
            sequence = f"{row['schemaname']}.{row['sequencename']}"
            column_type = str(row["column_type"] or row["sequence_type"])
            wider = WIDER.get({"integer": "int4", "smallint": "int2"}.get(column_type, column_type), "bigint")
            if row["table_name"]:
                obj = qualified(catalog, row["table_schema"], row["table_relname"], row["column_name"])
                fix = (f"ALTER TABLE {row['table_name']} ALTER COLUMN {row['column_name']} TYPE {wider}; "
                       f"ALTER SEQUENCE {sequence} AS {wider} (and widen the columns referencing it)")
            else:
                obj, fix = qualified(catalog, sequence), f"ALTER SEQUENCE {sequence} AS bigint MAXVALUE ..."
            yield self.finding(
                ctx, severity, obj,
                f"sequence {sequence} is at {ratio:.1%} of its limit {int(number(row['effective_limit'])):,} "
                f"({column_type})" + (" and cycles (values will collide)" if truthy(row["cycle"]) else ""),
                f"{fix}; plan the change before the limit: at it every INSERT fails",
                sequence=sequence, last_value=row["last_value"], limit=row["effective_limit"],
                column_type=column_type, sequence_type=row["sequence_type"], usage_ratio=round(ratio, 6),
            )

    def _mysql(self, ctx: CheckContext) -> Iterator[Finding]:
        visible = read(self, ctx, "visible", "SHOW VIEW or REFERENCES on the ERP schemas")
        if not visible or not int(number(visible[0]["tables"])):
            ctx.not_examined(self.id, "no table visible: the catalogs hold none yet, or the account lacks the grant (GRANT SHOW VIEW, REFERENCES ON *.*)")
            return
        rows = [r for r in ctx.query(self, "columns") if in_scope(ctx, r["catalog"])]
        ctx.examined("auto_increment columns", len(rows))
        for row in rows:
            next_value = number(row["next_value"], None)
            if next_value is None:
                continue
            ratio = (next_value - 1) / number(row["type_max"])
            severity = self._severity(ctx, ratio)
            if severity is None:
                continue
            column_type = str(row["column_type"])
            base = column_type.replace(" zerofill", "").split("(")[0] + (" unsigned" if "unsigned" in column_type else "")
            wider = WIDER.get(base, "bigint unsigned").upper()
            table = f"`{row['catalog']}`.`{row['table_name']}`"
            not_null = "" if str(row["is_nullable"]).upper() == "YES" else " NOT NULL"
            yield self.finding(
                ctx, severity, qualified(row["catalog"], row["table_name"], row["column_name"]),
                f"auto_increment of {row['table_name']}.{row['column_name']} ({column_type}) is at {ratio:.1%} "
                f"of {int(number(row['type_max'])):,}",
                f"ALTER TABLE {table} MODIFY `{row['column_name']}` {wider}{not_null} AUTO_INCREMENT "
                "(rebuilds the table: plan a window; widen the referencing columns too)",
                next_value=int(next_value), type_max=row["type_max"], column_type=column_type,
                usage_ratio=round(ratio, 6),
            )

    def _mssql(self, ctx: CheckContext) -> Iterator[Finding]:
        yield from each_catalog(self, ctx, lambda catalog: self._mssql_catalog(ctx, catalog))

    def _mssql_catalog(self, ctx: CheckContext, catalog: str | None) -> Iterator[Finding]:
        rows = read(self, ctx, "identity", "VIEW DEFINITION in the catalog", catalog=catalog)
        ctx.examined("identity columns", len(rows), catalog=catalog)
        for row in rows:
            column_type = str(row["column_type"]).lower()
            limit = MSSQL_MAX.get(column_type) or 10 ** int(number(row["precision"])) - 1
            ratio = number(row["last_value"]) / limit
            if number(row["increment_value"], 1) < 0:
                ratio = -number(row["last_value"]) / (limit + 1)
            severity = self._severity(ctx, ratio)
            if severity is None:
                continue
            table = f"[{row['schema_name']}].[{row['table_name']}]"
            wider = "bigint" if column_type in ("tinyint", "smallint", "int") else "decimal(38, 0)"
            yield self.finding(
                ctx, severity, qualified(catalog, row["schema_name"], row["table_name"], row["column_name"]),
                f"IDENTITY {row['table_name']}.{row['column_name']} ({column_type}) is at {ratio:.1%} of {limit:,}",
                f"ALTER TABLE {table} ALTER COLUMN [{row['column_name']}] {wider} NOT NULL (drop and recreate "
                "the primary key and the foreign keys on it around the change; a size-of-data operation)",
                last_value=row["last_value"], limit=limit, column_type=column_type, usage_ratio=round(ratio, 6),
            )
