"""The one way the agent makes a TLS client context (probes, status pages, sinks, mail)."""

from __future__ import annotations

import ssl


def client_context(ca_file: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context verifying chain and host name against ``ca_file`` (a private CA) or the
    system store. ``verify=False`` checks neither: only for ``verify_tls = false`` in the config,
    or to read a certificate that already failed verification (and is reported as such)."""
    if verify:
        return ssl.create_default_context(cafile=ca_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
