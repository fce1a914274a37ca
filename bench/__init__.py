"""l4agent benchmarks: what the agent costs on a customer's server, side by side with
node_exporter, and how every part grows with the size of what it watches.

Run them all with ``python -m bench`` (or name some: ``python -m bench scrape coldstart``;
``--quick`` for a shorter run). Each benchmark prints its tables and writes JSON with the
machine, the versions and every figure to ``bench/results/``. The modules:

- ``scrape``    /metrics latency, CPU per scrape, RSS, series: l4agent serve vs node_exporter
- ``steady``    CPU % of one core and RSS growth of ``l4agent serve`` at a 15s interval
- ``growth``    collection time vs processes, TCP connections, mounts (OS and network collectors)
- ``schema``    schema diagnostics time vs tables and columns, and the diagnose queries' own cost
                on PostgreSQL and MariaDB (from pg_stat_statements / performance_schema)
- ``fleet``     ``l4agent remote diagnose`` over 1, 10, 50 loopback sshd hosts, --parallel 10
- ``coldstart`` wall time of ``l4agent --version`` and ``l4agent collect`` (the cron path)

They are not part of the test suite (``tests/test_bench_smoke.py`` only keeps the entry point
working).
"""
