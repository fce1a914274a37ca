"""The ``l4agent`` console script: answers ``--version`` before loading anything.

``l4agent --version`` is what cron jobs, installers and monitoring probes run to see that the
agent is there; importing click alone doubles its start-up (bench/coldstart). Everything else
goes to the click CLI in :mod:`l4agent.agent.cli`, unchanged.
"""

from __future__ import annotations

import sys

from l4agent import __version__

VERSION_FLAGS = (["--version"], ["-V"])


def run() -> int | None:
    if sys.argv[1:] in VERSION_FLAGS:
        sys.stdout.write(f"l4agent {__version__}\n")  # what click's version_option prints
        return 0
    from l4agent.agent.cli import main

    return main()
