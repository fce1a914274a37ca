"""capacity.database_growth_forecast: days until each database (catalog) has no room to grow.

Why it matters: a database that cannot extend its files stops taking writes, whatever the
rest of the disk looks like (SQL Server files have MAXSIZE and growth settings).

Logic: fit a line through the catalog's size (``l4agent_database_size_bytes{database,catalog}``
in the daemon's history, the last ``window``; never sizes read during the run); days = room now /
growth per day. With less than ``min_history`` of history, one info finding says so. Room:
- SQL Server: per data file, up to its MAXSIZE (nothing when autogrowth is off), and never more
  than its volume's free space (sys.dm_os_volume_stats; needs VIEW SERVER STATE); on Azure SQL
  Managed Instance never more than what is left of the instance's storage quota
  (sys.server_resource_stats.reserved_storage_mb);
- PostgreSQL, MariaDB: free space of the filesystem holding the data: the target's
  ``data_dirs``, else the server's data directory when the server runs on this host. A remote
  server without ``data_dirs`` has no known room, so no forecast.
Reported only inside ``horizon`` (30d); critical inside ``critical_within`` (7d).
Catalogs: the target's ``databases``, else the DSN's own database.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from l4agent.core.history import DB_SIZE, History
from l4agent.core.units import format_bytes
from l4agent.dbaccess.connection import DatabaseError, dsn_value
from l4agent.dbaccess.values import number
from l4agent.diagnostics.base import Check, CheckContext, Finding
from l4agent.diagnostics.capacity.forecast import DAY, DEFAULTS, Settings, forecast, too_little_history
from l4agent.diagnostics.schema.catalog import catalog_names
from l4agent.diagnostics.schema.innodb_dictionary import SIZE_FROM_TABLES, read_sizes

log = logging.getLogger(__name__)

QUERIES = {
    "postgresql": {
        "size": "SELECT pg_database_size(CAST(? AS name)) AS size_bytes",
        # readable with pg_read_all_settings (part of pg_monitor)
        "data_directory": "SELECT current_setting('data_directory') AS data_directory",
    },
    "mysql": {
        "size": """
SELECT COALESCE(SUM(data_length + index_length), 0) AS size_bytes
FROM information_schema.tables
WHERE table_schema = ?
""",
        "data_directory": "SELECT @@datadir AS data_directory",
    },
    "mssql": {
        # Data files of the current database (run per catalog with USE): size and max_size in
        # 8 KB pages (max_size -1 = unlimited), growth 0 = autogrowth off; the volume's free bytes.
        "files": """
SELECT f.name AS file_name, f.physical_name, CAST(f.size AS bigint) * 8192 AS size_bytes,
       f.max_size, f.growth, vs.volume_mount_point, vs.available_bytes
FROM sys.database_files AS f
CROSS APPLY sys.dm_os_volume_stats(DB_ID(), f.file_id) AS vs
WHERE f.type = 0
""",
        "edition": "SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition",
        # Azure SQL Managed Instance (EngineEdition 8) only: the instance's storage quota, which
        # bounds every database together (the volumes the files report are not the limit there).
        "instance_storage": """
-- l4agent:version-guarded (EngineEdition = 8: sys.server_resource_stats exists on Managed Instance only)
SELECT TOP (1) rs.reserved_storage_mb, rs.storage_space_used_mb
FROM sys.server_resource_stats AS rs
ORDER BY rs.end_time DESC
""",
    },
}
MANAGED_INSTANCE = 8

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "(local)", ".", "(localdb)"}


@dataclass(frozen=True)
class Room:
    """How many more bytes a catalog can take, and what limits it (for people)."""

    bytes: float
    limit: str


def mssql_room(files: Sequence[Mapping[str, Any]]) -> tuple[float, Room]:
    """(size in bytes, room) from the ``files`` rows of one database. A file grows up to its
    MAXSIZE (not at all with growth 0); files on one volume share that volume's free bytes."""
    size = sum(number(f["size_bytes"]) for f in files)
    per_volume: dict[str, list[float]] = {}
    free: dict[str, float] = {}
    limits = []
    for f in files:
        volume = str(f["volume_mount_point"])
        free[volume] = number(f["available_bytes"])
        max_size, growth = int(number(f["max_size"])), int(number(f["growth"]))
        if growth == 0:
            headroom = 0.0
            limits.append(f"{f['file_name']}: autogrowth off")
        elif max_size == -1:
            headroom = float("inf")
        else:
            headroom = max(0.0, max_size * 8192.0 - number(f["size_bytes"]))
            limits.append(f"{f['file_name']}: MAXSIZE {format_bytes(max_size * 8192.0)}")
        per_volume.setdefault(volume, []).append(headroom)
    room = sum(min(free[v], sum(h)) for v, h in per_volume.items())
    limits += [f"volume {v}: {format_bytes(free[v])} free" for v in sorted(per_volume)]
    return size, Room(room, "; ".join(limits))


def is_local_server(dsn: str) -> bool:
    server = (dsn_value(dsn, "SERVER") or dsn_value(dsn, "HOST") or "localhost").strip().lower()
    server = server.split(",")[0].removeprefix("tcp:")
    return server in _LOCAL_HOSTS or server.startswith("127.") or server in {
        socket.gethostname().lower(), socket.getfqdn().lower()}


def filesystem_room(directory: str) -> Room | None:
    try:
        st = os.statvfs(directory)
    except OSError:
        return None
    free = st.f_bavail * st.f_frsize
    return Room(float(free), f"filesystem holding {directory}: {format_bytes(free)} free")


class DatabaseGrowthForecast(Check):
    id = "capacity.database_growth_forecast"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "Databases that run out of room to grow within the horizon"
    catalog_statements = frozenset({"files"})
    queries = QUERIES
    defaults = dict(DEFAULTS)

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        settings = Settings.of(self, ctx)
        catalogs = catalog_names(ctx)
        now = time.time()
        sources: dict[str, str] = {}  # MariaDB/MySQL: where the sizes came from
        sizes, rooms = self._measure(ctx, catalogs, sources)
        history = History.existing(ctx.state_dir)
        series: dict[str, tuple[list[tuple[float, float]], str]] = {}
        short: dict[str, list[tuple[float, float]]] = {}
        try:
            for catalog in catalogs:
                labels = {"database": ctx.target.name, "catalog": catalog}
                points = history.points(DB_SIZE, labels, since=now - settings.window) if history else []
                if settings.usable_history(points):
                    series[catalog] = (points, "history")
                elif rooms.get(catalog) is not None:
                    short[catalog] = points
        finally:
            if history is not None:
                history.close()
        for catalog in catalogs:
            ctx.examined("catalogs", 1, catalog=catalog)
        if short:
            yield too_little_history(self, ctx, settings, ctx.target.name, f"{len(short)} catalog(s)", short)

        for catalog in catalogs:
            room = rooms.get(catalog)
            if room is None or catalog not in series:
                continue
            points, source = series[catalog]
            result = forecast(points, room.bytes, settings, source)
            if result is None:
                continue
            full_at = dt.datetime.fromtimestamp(now + result.days * DAY, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            yield self.finding(
                ctx, result.severity(settings), catalog,
                f"database {catalog} runs out of room in {result.days:.1f} days at "
                f"{format_bytes(result.fit.per_day)}/day ({result.basis()})",
                self._advice(ctx, catalog, room, full_at),
                catalog=catalog, size_bytes=sizes.get(catalog), room_bytes=room.bytes, limit=room.limit,
                full_at=full_at, **({"size_source": sources[catalog]} if catalog in sources else {}),
                **result.evidence(ctx.state_dir))

    # -- measuring -------------------------------------------------------------------------

    def _sizes(self, ctx: CheckContext, catalogs: Sequence[str],
               sources: dict[str, str] | None = None) -> dict[str, float]:
        if ctx.engine == "mssql":
            return {c: mssql_room(ctx.query(self, "files", catalog=c))[0] for c in catalogs}
        if ctx.engine == "mysql":
            # InnoDB's persistent statistics: 0.12 s at 20,000 tables, where information_schema
            # .TABLES opens every table (8 s); that walk only without the grant
            sources = sources if sources is not None else {}
            sizes = read_sizes(ctx.db, catalogs, sources)
            if SIZE_FROM_TABLES in sources.values():
                log.warning("%s: sizes read from information_schema.TABLES, which opens every table; "
                            "GRANT SELECT ON mysql.innodb_table_stats to the monitor account", ctx.target_name)
            return {c: float(v) for c, v in sizes.items()}
        return {c: number(ctx.db.scalar(self.queries[ctx.engine]["size"], (c,))) for c in catalogs}

    def _measure(self, ctx: CheckContext, catalogs: Sequence[str],
                 sources: dict[str, str] | None = None) -> tuple[dict[str, float], dict[str, Room | None]]:
        """Size and room of each catalog now."""
        if ctx.engine == "mssql":
            quota = self._instance_quota(ctx)
            sizes: dict[str, float] = {}
            rooms: dict[str, Room | None] = {}
            for c in catalogs:
                try:  # one unreadable catalog (offline, restoring, timed out) costs only itself
                    size, room = mssql_room(ctx.query(self, "files", catalog=c))
                except DatabaseError as exc:
                    if exc.kind == "closed":
                        raise
                    ctx.not_examined(self.id, f"catalog {c} skipped: {exc}", catalog=c)
                    continue
                if quota is not None:
                    room = Room(min(room.bytes, quota.bytes), f"{quota.limit}; {room.limit}")
                sizes[c], rooms[c] = size, room
            return sizes, rooms
        sizes = self._sizes(ctx, catalogs, sources)
        room = self._data_room(ctx)
        return sizes, dict.fromkeys(catalogs, room)

    def _instance_quota(self, ctx: CheckContext) -> Room | None:
        """Managed Instance: the room left in the instance's storage quota (None elsewhere)."""
        edition = ctx.query(self, "edition")
        if not edition or int(number(edition[0]["engine_edition"], 0) or 0) != MANAGED_INSTANCE:
            return None
        rows = ctx.query(self, "instance_storage")
        if not rows:
            ctx.not_examined(self.id, "Managed Instance storage quota unknown (sys.server_resource_stats is empty)")
            return Room(float("inf"), "instance storage quota unknown")
        reserved = number(rows[0]["reserved_storage_mb"]) * 1048576
        free = max(0.0, reserved - number(rows[0]["storage_space_used_mb"]) * 1048576)
        return Room(free, f"instance storage quota: {format_bytes(free)} free of {format_bytes(reserved)} "
                          "(reserved_storage_mb)")

    def _data_room(self, ctx: CheckContext) -> Room | None:
        """Free space where the server keeps its data: data_dirs, else its own data directory
        when it runs on this host (the path means nothing here for a remote server)."""
        for directory in ctx.target.data_dirs:
            room = filesystem_room(directory)
            if room is not None:
                return room
        if not is_local_server(ctx.target.dsn):
            return None
        try:
            directory = ctx.db.scalar(self.queries[ctx.engine]["data_directory"])
        except DatabaseError:  # no pg_read_all_settings: no room known
            return None
        return filesystem_room(str(directory)) if directory else None

    def _advice(self, ctx: CheckContext, catalog: str, room: Room, full_at: str) -> str:
        if ctx.engine == "mssql" and room.limit.startswith("instance storage quota"):
            return (f"before {full_at}: raise the Managed Instance's storage size (reserved_storage_mb, in the "
                    "Azure portal or az sql mi update --storage), or archive or purge old periods")
        if ctx.engine == "mssql":
            quoted = ctx.db.quote(catalog) if ctx.db is not None else f"[{catalog}]"
            return (f"before {full_at}: raise the limits ({room.limit}) with ALTER DATABASE {quoted} "
                    f"MODIFY FILE (NAME = ..., MAXSIZE = UNLIMITED), grow the volume, or add a file on a volume "
                    f"with space (ALTER DATABASE {quoted} ADD FILE ...); and archive or purge old periods")
        return (f"before {full_at}: add space to the {room.limit.split(':')[0]}, or move or purge data "
                f"(old periods, logs, audit tables) of {catalog}")
