"""The config as commands load it: the core reader plus built-in rules and check options."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_reading_a_config_imports_no_check(tmp_path):
    """The core's config reader imports no check; the command-level reader imports only the
    checks its [diagnostics.<id>] tables name."""
    config = tmp_path / "l4agent.toml"
    config.write_text('[diagnostics."perf.top_query"]\ntop_n = 5\n')
    script = (
        "import sys\n"
        "from l4agent.core.config import load_config\n"
        f"load_config({str(config)!r})\n"
        "core = {m for m in sys.modules if m.startswith('l4agent.diagnostics.')}\n"
        "from l4agent.agent.configuration import load_config as app_load\n"
        f"app_load({str(config)!r})\n"
        "app = {m for m in sys.modules if m.startswith('l4agent.diagnostics.') and m.count('.') == 3}\n"
        "print(len(core), sorted(app))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    core_count, app_checks = proc.stdout.split(" ", 1)
    assert core_count == "0"
    assert app_checks.strip() == "['l4agent.diagnostics.perf.top_query']"
