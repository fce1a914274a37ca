"""backup.same_volume: backups kept on the same filesystem as the database's data.

A failing or full disk then takes the data and its backups together. Compares the st_dev of
each ``backup_dirs`` folder with that of the data directories: the target's ``data_dirs`` when
set, else what the server reports (PostgreSQL data_directory and tablespaces, which needs
pg_read_all_settings, part of pg_monitor; MariaDB @@datadir; SQL Server sys.master_files).
Server-reported paths are used only when the server runs on this host; otherwise, or when a
path cannot be read here, the finding says so instead of guessing.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import socket
from collections.abc import Iterator

from l4agent.dbaccess.connection import DatabaseError, dsn_value
from l4agent.diagnostics.base import Check, CheckContext, Finding

POSTGRESQL_DATA_DIRS = """
SELECT current_setting('data_directory') AS path
UNION ALL
SELECT pg_tablespace_location(t.oid) FROM pg_tablespace AS t WHERE pg_tablespace_location(t.oid) <> ''
"""

MYSQL_DATA_DIRS = "SELECT @@datadir AS path"

# physical_name of every data and log file; the folders are derived in Python.
MSSQL_DATA_FILES = """
SELECT DB_NAME(mf.database_id) AS database_name, mf.type_desc, mf.physical_name AS path
FROM sys.master_files AS mf
"""

LOCAL_NAMES = {"", "localhost", "127.0.0.1", "::1", "(local)", ".", "(localdb)"}


def server_host(dsn: str) -> str:
    """The host part of the DSN's SERVER/HOST (``tcp:db1,1433``, ``db1\\INST`` -> ``db1``)."""
    value = dsn_value(dsn, "SERVER") or dsn_value(dsn, "SERVERNAME") or dsn_value(dsn, "HOST") or ""
    value = value.strip()
    if value.lower().startswith(("tcp:", "np:", "lpc:")):
        value = value.split(":", 1)[1]
    return value.split(",")[0].split("\\")[0].strip().strip("[]")


def is_local(host: str) -> bool:
    """Does ``host`` name this machine (a socket path, loopback, our name or one of our addresses)?"""
    if host.startswith("/") or host.lower() in LOCAL_NAMES:
        return True
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    if host.lower() in names:
        return True
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    import psutil

    local = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs}
    return bool(addresses) and addresses <= local | {"127.0.0.1", "::1"}


def folder_of(path: str) -> str:
    """The folder of a server-reported file path, Windows or POSIX."""
    if "\\" in path or (len(path) > 1 and path[1] == ":"):
        return ntpath.dirname(path)
    return posixpath.dirname(path)


class BackupSameVolume(Check):
    id = "backup.same_volume"
    engines = frozenset({"mssql", "postgresql", "mysql"})
    title = "backup_dirs on the same filesystem as the database's data"
    queries = {
        "postgresql": {"data_dirs": POSTGRESQL_DATA_DIRS},
        "mysql": {"data_dirs": MYSQL_DATA_DIRS},
        "mssql": {"data_files": MSSQL_DATA_FILES},
    }
    defaults = {}
    max_rows = 5000

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        backup_dirs = [d for d in ctx.target.backup_dirs if os.path.isdir(d)]  # missing ones: backup.dir_stale
        if not backup_dirs:
            return
        data_dirs, unknown = self._data_dirs(ctx)
        devices: dict[int, list[str]] = {}
        unreadable = []
        for path in data_dirs:
            try:
                devices.setdefault(os.stat(path).st_dev, []).append(path)
            except OSError as exc:
                unreadable.append(f"{path}: {exc.strerror}")
        if unknown or (unreadable and not devices):
            reason = unknown or f"the data directories cannot be read on this host ({'; '.join(unreadable)})"
            for directory in backup_dirs:
                yield self.finding(
                    ctx, "info", directory,
                    f"cannot tell whether backups share the data's filesystem: {reason}",
                    "set data_dirs for this target to the data folders as seen from this host (or check by hand "
                    "that backups go to another disk)",
                    data_dirs=data_dirs, unreadable=unreadable,
                )
            return
        for directory in backup_dirs:
            shared = devices.get(os.stat(directory).st_dev)
            if shared:
                yield self.finding(
                    ctx, "warning", directory,
                    f"backups are on the same filesystem as the data ({', '.join(shared[:3])}): one failed or full "
                    "disk loses both",
                    "write backups to a different disk, and copy them off this host (another server, object storage)",
                    data_dirs=shared, device=os.stat(directory).st_dev, unreadable=unreadable,
                )

    def _data_dirs(self, ctx: CheckContext) -> tuple[list[str], str | None]:
        """The data folders to compare, or a reason they cannot be known here."""
        if ctx.target.data_dirs:
            return list(ctx.target.data_dirs), None
        host = server_host(ctx.target.dsn)
        if not is_local(host):
            return [], f"the database server {host!r} is not this host"
        name = "data_files" if ctx.engine == "mssql" else "data_dirs"
        try:
            rows = ctx.query(self, name)
        except DatabaseError as exc:
            if exc.kind == "permission":
                hint = " (grant pg_read_all_settings, part of pg_monitor)" if ctx.engine == "postgresql" else ""
                return [], f"the server does not tell the monitor user where its data is{hint}"
            raise
        paths = [str(r["path"]) for r in rows if r["path"]]
        if ctx.engine == "mssql":
            paths = [folder_of(p) for p in paths]
        folders = sorted({p.rstrip("/") or "/" for p in paths})
        windows = [p for p in folders if "\\" in p or (len(p) > 1 and p[1] == ":")]
        if windows:
            return [], f"the data files are on a Windows path ({windows[0]}), not on this host"
        return folders, None
