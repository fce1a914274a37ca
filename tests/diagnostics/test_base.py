"""cap_evidence: the fast path for plain evidence gives what the full capping gives."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from l4agent.diagnostics import base
from l4agent.diagnostics.base import EVIDENCE_MAX_ROWS, EVIDENCE_MAX_TEXT, _plain, cap_evidence

CASES = [
    {"rows": 12, "columns": 4, "unique_indexes": []},
    {"name": "x", "ratio": 0.5, "flag": True, "none": None, "items": ("a", 1, 2.5)},
    {"long": "y" * (EVIDENCE_MAX_TEXT + 5)},
    {"many": list(range(EVIDENCE_MAX_ROWS + 3))},
    {"nested": {"a": [1, 2]}, "when": dt.datetime(2026, 1, 2, 3, 4, 5), "amount": Decimal("1.5")},
    {"set": {"b", "a"} - {"b"}, "list_of_long": ["z" * (EVIDENCE_MAX_TEXT + 1)]},
]


@pytest.mark.parametrize("evidence", CASES)
def test_fast_path_equals_full_capping(evidence, monkeypatch):
    got = cap_evidence(evidence)
    monkeypatch.setattr(base, "_plain", lambda value: False)  # always the full capping
    assert got == cap_evidence(evidence)
    for key, value in got.items():  # capped as documented
        if isinstance(value, str):
            assert len(value) <= EVIDENCE_MAX_TEXT + 1
        if isinstance(value, list):
            assert len(value) <= EVIDENCE_MAX_ROWS + 1
        assert isinstance(key, str)


def test_plain_values_take_the_fast_path_and_others_do_not():
    assert _plain(3) and _plain("x") and _plain(None) and _plain([1, "a"]) and _plain((1.5,))
    assert not _plain("y" * (EVIDENCE_MAX_TEXT + 1))
    assert not _plain(list(range(EVIDENCE_MAX_ROWS + 1)))
    assert not _plain(Decimal("1")) and not _plain({"a": 1}) and not _plain([{"a": 1}]) and not _plain({1})
    assert cap_evidence({"t": (1, 2)}) == {"t": [1, 2]}
    assert cap_evidence({"long": "y" * (EVIDENCE_MAX_TEXT + 5)})["long"].endswith("…")
    assert cap_evidence({"many": list(range(EVIDENCE_MAX_ROWS + 3))})["many"][-1] == "… 3 more"
    assert cap_evidence({"amount": Decimal("1.5")}) == {"amount": 1.5}
