"""backup.dir_stale: backup folders with an old newest file (os.utime), an empty one and a
missing one are reported; the folder with a fresh file (even one level down) is not."""

from __future__ import annotations

import os
import time

from tests.diagnostics.checkrun import db_config, findings_of, run_check


def _file(path, hours_old: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"backup")
    then = time.time() - hours_old * 3600
    os.utime(path, (then, then))


def test_old_empty_and_missing_folders_beside_a_fresh_one(pg_server, pg_db, tmp_path):
    _file(tmp_path / "stale" / "erp_2026_11_20.bak", 30)
    _file(tmp_path / "very_stale" / "erp_2026_11_18.bak", 24 * 4 + 0.5)
    _file(tmp_path / "fresh" / "erp_2026_11_10.bak", 24 * 12)
    _file(tmp_path / "fresh" / "daily" / "erp_2026_11_22.bak", 2)  # newest file is one level down
    (tmp_path / "empty").mkdir()
    dirs = {name: str(tmp_path / name) for name in ("stale", "very_stale", "fresh", "empty", "missing")}
    config = db_config(pg_server, pg_db, backup_dirs=list(dirs.values()), rpo="24h")
    found = {f.object: f for f in findings_of(run_check("backup.dir_stale", config))}

    assert set(found) == {dirs["stale"], dirs["very_stale"], dirs["empty"], dirs["missing"]}
    assert found[dirs["stale"]].severity == "warning"
    assert 30 * 3600 - 5 <= found[dirs["stale"]].evidence["newest_file_age_seconds"] <= 30 * 3600 + 60
    assert found[dirs["stale"]].evidence["newest_file"].endswith("erp_2026_11_20.bak")
    assert found[dirs["very_stale"]].severity == "critical"  # 4 days and 30 minutes: more than 2 x RPO
    assert found[dirs["very_stale"]].evidence["newest_file_age_seconds"] >= 4 * 86400 + 1800 - 5
    assert found[dirs["empty"]].severity == "critical" and "empty" in found[dirs["empty"]].summary
    assert found[dirs["missing"]].severity == "critical" and "does not exist" in found[dirs["missing"]].summary


def test_rpo_is_the_targets(pg_server, pg_db, tmp_path):
    _file(tmp_path / "weekly" / "erp.bak", 30)
    config = db_config(pg_server, pg_db, backup_dirs=[str(tmp_path / "weekly")], rpo="7d")
    assert findings_of(run_check("backup.dir_stale", config)) == []
