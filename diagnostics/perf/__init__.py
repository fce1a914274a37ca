"""SQL performance checks (``perf.*``): top statements, indexes, bloat, blocking, caching, waits."""
