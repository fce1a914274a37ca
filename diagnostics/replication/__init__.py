"""replication checks (issue 19)."""
