"""The issue-19 checks and metrics through the command line, as a specialist runs them: diagnose
on the planted PostgreSQL primary finds every PostgreSQL defect in l4_bad and nothing in
l4_good, with coverage per catalog; collect --format prom passes promtool."""

from __future__ import annotations

import json

from tests.collectors.database.targets import PASSWORD_ENV, toml_target
from tests.support.promtools import promtool_check_metrics
from tests.support.signal_plants import BAD, GOOD

PG_CHECKS = ("capacity.identity_exhaustion", "integrity.invalid_index", "integrity.disabled_triggers",
             "replication.slot_retention", "backup.no_point_in_time", "capacity.xid_wraparound")


def test_diagnose_finds_the_planted_defects_and_no_twin(pg_signals, run_cli, write_config):
    extra = f'databases = ["{BAD}", "{GOOD}"]\n'
    config = write_config(toml_target(pg_signals.primary, "pg", "postgres", extra)
                          + '[diagnostics."capacity.xid_wraparound"]\nwarning_age = 40000\n')
    args = ["diagnose", "-c", config, "--format", "json"]
    for check in PG_CHECKS:
        args += ["--check", check]
    proc = run_cli(*args, env={PASSWORD_ENV["postgresql"]: pg_signals.primary.monitor_password})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    found = {(f["check"], f["object"]) for f in result["findings"]}
    assert found == {
        ("capacity.identity_exhaustion", f"{BAD}.public.invoice.id"),
        ("integrity.invalid_index", f"{BAD}.public.dup.dup_v_uq"),
        ("integrity.disabled_triggers", f"{BAD}.public.audited"),
        ("integrity.disabled_triggers", f"{BAD}.public.line"),
        ("replication.slot_retention", "slot stale_physical"),
        ("replication.slot_retention", "slot stale_logical"),
        ("capacity.xid_wraparound", BAD),
    }
    assert not any(GOOD in obj for _, obj in found)
    coverage = {(c["catalog"]): c for c in result["coverage"]}
    assert coverage[GOOD]["examined"]["sequences"] == 2 and coverage[BAD]["examined"]["indexes"] > 100
    assert all(not c["not_examined"] for c in result["coverage"])


def test_collect_prom_is_clean(pg_signals, mariadb_signals, run_cli, write_config):
    config = write_config(toml_target(pg_signals.primary, "pg", "postgres")
                          + toml_target(mariadb_signals.replica, "replica"))
    proc = run_cli("collect", "-c", config, "--format", "prom",
                   env={PASSWORD_ENV["postgresql"]: pg_signals.primary.monitor_password,
                        PASSWORD_ENV["mysql"]: mariadb_signals.replica.monitor_password})
    assert proc.returncode == 0, proc.stderr
    assert "l4agent_database_replica_running{" in proc.stdout and "l4agent_database_xid_age{" in proc.stdout
    assert promtool_check_metrics(proc.stdout.encode()) == ""
