"""Database access: ODBC connections with read-only, time-bounded sessions, and what differs
between SQL Server, PostgreSQL and MariaDB at the connection level. Above the core; below
the collectors and diagnostics that query through it."""
