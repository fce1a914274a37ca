"""lifecycle: the versions L4 must keep in support (host OS, database engines, app server, JVM)."""
