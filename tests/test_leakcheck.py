"""The leak check itself must be able to fail: a planted leak is found, a clean text is not."""

from __future__ import annotations

from tests.support import leakcheck


def test_a_planted_leak_is_found_and_a_clean_text_is_not(monkeypatch):
    monkeypatch.setattr(leakcheck, "_SECRETS", {"planted-Secret-123"})
    monkeypatch.setattr(leakcheck, "_SEEN", [("t::clean", "PWD=***"), ("t::leaky", "login PWD=planted-Secret-123")])

    class Session:
        config = type("C", (), {})()

    assert leakcheck._leaks(Session()) == ["t::leaky: captured output"]
