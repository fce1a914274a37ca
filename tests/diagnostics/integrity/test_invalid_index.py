"""integrity.invalid_index: a UNIQUE index whose CONCURRENTLY build failed on duplicate keys in
l4_bad is reported (on the standby too); the same build that succeeded in l4_good is not."""

from __future__ import annotations

from tests.diagnostics.checkrun import db_config, findings_of, run_check
from tests.diagnostics.signal_support import examined
from tests.support.signal_plants import BAD, GOOD

CHECK = "integrity.invalid_index"


def test_failed_concurrent_build_beside_the_valid_one(pg_signals):
    [finding] = findings_of(run_check(CHECK, db_config(pg_signals.primary, BAD)))
    assert (finding.object, finding.severity) == ("public.dup.dup_v_uq", "warning")
    assert "DROP INDEX CONCURRENTLY public.dup_v_uq" in finding.recommendation
    assert "UNIQUE" in finding.evidence["definition"]
    good = run_check(CHECK, db_config(pg_signals.primary, GOOD))
    assert findings_of(good) == [] and examined(good)[(None, "indexes")] > 100


def test_catalogs_listed_in_the_target(pg_signals):
    findings = findings_of(run_check(CHECK, db_config(pg_signals.standby, "postgres", databases=[BAD, GOOD])))
    assert [f.object for f in findings] == [f"{BAD}.public.dup.dup_v_uq"]
