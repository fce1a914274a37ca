"""app.tls_chain: the app server's certificate does not verify (chain, trust or host name).

Browsers refuse such a server or train users to click through warnings. Verified against the
app server's ``ca_file`` when set, else the system trust store; skipped with ``verify_tls = false``.
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.diagnostics.app.readings import app_finding, recent_probes, with_url
from l4agent.diagnostics.app.tls_expiry import latest_certificate
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding

RECOMMENDATION = (
    "Make the certificate verify the way users' browsers check it. A certificate from a public CA: install "
    "the full chain (the certificate followed by its intermediates) on the server, not the certificate "
    "alone. One from an internal CA: distribute that CA to the clients and set ca_file = \"<the CA's PEM>\" "
    "for this app server so the agent checks against it too. A host-name mismatch: reissue it with the name "
    "users type in its subjectAltName. An expired one: see app.tls_expiry."
)


class TlsChain(Check):
    id = "app.tls_chain"
    engines = frozenset({HOST})
    title = "App server's TLS certificate does not verify against ca_file or the system trust store"

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for app in with_url(ctx.config):
            if not app.verify_tls:
                continue
            cert = latest_certificate(recent_probes(ctx, app, 1))
            if cert is None or cert.verified is not False:
                continue
            yield app_finding(
                self, app, "warning", app.url,
                f"TLS certificate does not verify against the {cert.trust}: {cert.verify_error}",
                RECOMMENDATION,
                verify_error=cert.verify_error, trusted=cert.trust, subject=cert.subject, issuer=cert.issuer,
            )
