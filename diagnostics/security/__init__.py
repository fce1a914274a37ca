"""``security.*``: the first-responder security review of a database server, its host and the
app tier in front of it.

One module per check id. Database checks read catalogs and settings only; host checks read
/proc, file modes and a TLS handshake. Nothing here changes a login, a setting or a file: each
finding names the object and gives the statement or command that fixes it, for a person to run.
Allowed lists and expectations are options under ``[diagnostics.security]`` (or per check).
"""
