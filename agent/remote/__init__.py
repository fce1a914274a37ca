"""``l4agent remote``: the same collection and diagnostics over SSH, on one host or a fleet.

- ``hosts``       which hosts: ``[user@]host[:port]`` and the TOML inventory
- ``known_hosts`` host-key verification (refuse unknown/changed keys; ``--accept-new``)
- ``ssh``         paramiko connections: identity, SSH agent, jump host, bounded commands
- ``agent_mode``  run ``l4agent collect|diagnose --format json`` on the host and read its JSON
- ``agentless``   read /proc, df and friends in one round trip (the script, the collectors)
- ``procfs``      parsers from that text to the samples the local collectors make
- ``forward``     database diagnostics through an SSH port-forward with the local ODBC drivers
- ``jobs``        one host from connect to result, choosing the mode
- ``fleet``       bounded parallel runs, per-host deadlines, the progress bar
- ``output``      the table, the per-host lines, the recap and the JSON
- ``records_adapter`` ``--record``: findings into the work-record store
"""
