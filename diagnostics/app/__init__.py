"""``app.*``: the app-server tier (slow responses, TLS certificates, thread pool, heap, errors).

The checks read what the app-server collector keeps in memory (:mod:`collectors.appserver.history`)
and, in a one-shot ``diagnose`` where there is none yet, take a few probes or status reads
themselves (:mod:`diagnostics.app.sources`).
"""
