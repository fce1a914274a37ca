"""node_exporter's textfile collector: write the exposition atomically (temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

from l4agent.core.samples import Sample
from l4agent.exporters.prometheus import render


def write_textfile(path: str, samples: Iterable[Sample]) -> None:
    """Write ``samples`` to ``path`` so that a reader sees the old file or the new, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    data = render(samples)
    fd, tmp = tempfile.mkstemp(prefix=".l4agent-", suffix=".prom.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # noqa: S103 - node_exporter runs as another user and must read it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
