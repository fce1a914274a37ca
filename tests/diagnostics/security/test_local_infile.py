"""security.local_infile on a real MariaDB: the lab server starts with local_infile off (clean);
the test switches it on (planted) and back."""

from __future__ import annotations

import pytest

from tests.diagnostics.security_helpers import lab_mariadb, password_env, planted, run_check, target


@pytest.fixture
def lab(monkeypatch):
    server = lab_mariadb()
    monkeypatch.setenv(*password_env(server))
    return server


def test_local_infile_on_is_a_warning_off_is_clean(lab):
    config = {"databases": [target(lab)]}
    assert run_check("security.local_infile", config).findings == []
    with planted(lab, ["SET GLOBAL local_infile = ON"], ["SET GLOBAL local_infile = OFF"]):
        [finding] = run_check("security.local_infile", config).findings
    assert (finding.severity, finding.object) == ("warning", "local_infile")
    assert finding.recommendation.startswith("`SET GLOBAL local_infile = OFF;` and `local_infile = 0`")
    assert run_check("security.local_infile", config).findings == []
