"""l4agent: infrastructure monitoring and L4 diagnostics for ERP servers.

The ``agent`` package holds the CLI, configuration, scheduler, thresholds, work records and the
SSH remote runner; ``collectors``, ``diagnostics`` and ``exporters`` hold the parts they drive.
"""

__version__ = "0.1.0"
