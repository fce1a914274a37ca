"""l4agent: infrastructure monitoring and L4 diagnostics for ERP servers.

One import namespace over the repository's folders, layered top to bottom (imports only point
down; import-linter enforces it, see the README's Layout section):

- ``l4agent.agent``: the application: CLI, commands, daemon, thresholds, work records, SSH
  remote, report assembly
- ``l4agent.exporters``: Prometheus exposition, textfile, tables, report rendering, web server
- ``l4agent.diagnostics``: the checks
- ``l4agent.collectors``: OS, network, database and app-server collectors
- ``l4agent.dbaccess``: ODBC connections and per-engine session rules
- ``l4agent.core``: config model and reader, durations, redaction, samples, units, history
"""

__version__ = "0.1.0"
