""""New since last report" and "resolved since last report".

Every ``l4agent report`` run keeps a short summary (its problems by key) in
``state_dir``/report-summaries.json; ``--since 24h`` compares this run with the kept summary
taken closest to 24 hours ago. A problem is a finding (check + target + object) or a threshold
breach (rule + target + object); the same problem keeps its key from run to run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARIES_FILE = "report-summaries.json"
KEEP = 120  # summaries kept: four months of daily reports


@dataclass
class Comparison:
    """This report against the baseline summary (taken at ``baseline_at``, epoch seconds)."""

    baseline_at: float
    new: list[dict[str, str]] = field(default_factory=list)
    resolved: list[dict[str, str]] = field(default_factory=list)
    worse: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from l4agent.core.units import iso_utc

        return {"baseline_at": iso_utc(dt.datetime.fromtimestamp(self.baseline_at, dt.UTC)),
                "new": self.new, "resolved": self.resolved, "worse": self.worse}


def summary(generated_at: float, verdict: str, problems: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What is kept of one report: its time, verdict and problems {key: {severity, text}}."""
    return {"generated_at": generated_at, "verdict": verdict, "problems": problems}


def compare(current: dict[str, dict[str, str]], baseline: dict[str, Any]) -> Comparison:
    old = baseline.get("problems", {})
    rank = {"info": 0, "warning": 1, "critical": 2}
    return Comparison(
        baseline_at=float(baseline["generated_at"]),
        new=[current[key] for key in sorted(current) if key not in old],
        resolved=[old[key] for key in sorted(old) if key not in current],
        worse=[current[key] for key in sorted(current)
               if key in old and rank.get(current[key]["severity"], 0) > rank.get(old[key].get("severity"), 0)],
    )


class SummaryStore:
    """The kept summaries of one state_dir (a JSON list, written atomically)."""

    def __init__(self, state_dir: str):
        self.path = Path(state_dir) / SUMMARIES_FILE

    def load(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            return []  # an unreadable file is no baseline; it is replaced on save
        return [s for s in data if isinstance(s, dict) and "generated_at" in s] if isinstance(data, list) else []

    def baseline(self, since: float, now: float) -> dict[str, Any] | None:
        """The summary taken closest to ``now - since`` (any earlier report will do)."""
        earlier = [s for s in self.load() if float(s["generated_at"]) < now]
        if not earlier:
            return None
        target = now - since
        return min(earlier, key=lambda s: abs(float(s["generated_at"]) - target))

    def save(self, entry: dict[str, Any]) -> None:
        """Append ``entry``, keep the newest KEEP. Raises OSError when state_dir is not writable."""
        summaries = self.load()
        summaries.append(entry)
        summaries = sorted(summaries, key=lambda s: float(s["generated_at"]))[-KEEP:]
        self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".report-summaries.", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(summaries, out, indent=0)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
