"""integrity checks (issue 19)."""
