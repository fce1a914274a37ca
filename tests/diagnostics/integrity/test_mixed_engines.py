"""integrity.mixed_engines: l4_bad holds a MyISAM and an Aria table beside InnoDB ones, l4_good
only InnoDB; without SHOW VIEW the account sees no table and the check says "not examined"."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import mariadb_revoked, not_examined
from tests.support.signal_plants import BAD

CHECK = "integrity.mixed_engines"


def test_myisam_and_aria_beside_innodb(mariadb_signals):
    [finding] = findings_of(run_check(CHECK, db_config(mariadb_signals.primary, None)))
    assert (finding.object, finding.severity) == (BAD, "warning")
    assert sorted(finding.evidence["tables"]) == ["cache (Aria)", "legacy (MyISAM)"]
    assert "Aria, MyISAM" in finding.summary


def test_without_table_visibility_not_examined(mariadb_signals):
    with mariadb_revoked(mariadb_signals.primary, "SHOW VIEW, REFERENCES"):
        result = run_check(CHECK, db_config(mariadb_signals.primary, None))
    assert result.findings == [] and [w for _, w, _ in not_examined(result)] == [CHECK]
