"""A grep over everything the test suite printed: fail the run if any test password appears.

Test passwords (the throwaway servers' passwords, the secrets tests plant) are registered with
:func:`register_test_secret`. Every test's captured stdout, stderr and log, its failure report,
and every ``*.log`` file the tests wrote under pytest's temp dir are searched at the end of the
session; a hit fails the run and names where the secret was seen (never the secret itself).
"""

from __future__ import annotations

from pathlib import Path

import pytest

_SECRETS: set[str] = set()
_SEEN: list[tuple[str, str]] = []  # (test id, text)


def register_test_secret(value: str) -> str:
    """Remember ``value`` as a secret that must never be printed; returns it for convenience."""
    if value and len(value) >= 6:
        _SECRETS.add(value)
    return value


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [content for _name, content in report.sections]
    if report.longrepr is not None:
        texts.append(report.longreprtext)
    for text in texts:
        if text:
            _SEEN.append((report.nodeid, text))


def _leaks(session: pytest.Session) -> list[str]:
    found = []
    for nodeid, text in _SEEN:
        for secret in _SECRETS:
            if secret in text:
                found.append(f"{nodeid}: captured output")
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = factory.getbasetemp() if factory is not None else None
    if base is not None and Path(base).exists():
        for log in Path(base).rglob("*.log"):
            try:
                text = log.read_text(errors="replace")
            except OSError:
                continue
            if any(secret in text for secret in _SECRETS):
                found.append(str(log))
    return sorted(set(found))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = _leaks(session)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if leaks:
        if reporter is not None:
            reporter.write_sep("=", "SECRET LEAK: a test password appeared in output", red=True)
            for where in leaks:
                reporter.write_line(f"  {where}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None and _SECRETS:
        reporter.write_line(f"leakcheck: {len(_SECRETS)} test secrets, none found in {len(_SEEN)} captured outputs")
