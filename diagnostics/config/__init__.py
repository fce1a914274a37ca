"""config checks (issue 19)."""
