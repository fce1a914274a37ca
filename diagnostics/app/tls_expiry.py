"""app.tls_expiry: the app server's TLS certificate expires soon, or has expired.

An expired certificate locks every user out at once, usually on a weekend. Read from the most
recent probe that saw a certificate (the probe reads it even when it does not verify).
"""

from __future__ import annotations

from collections.abc import Iterator

from l4agent.collectors.appserver.http_probe import Certificate
from l4agent.core.units import iso_utc
from l4agent.diagnostics.app.readings import app_finding, recent_probes, with_url
from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding

DAY = 86400.0

RECOMMENDATION = (
    "Renew the certificate for {subject} (issued by {issuer}) and install it together with its "
    "intermediate chain where TLS ends: Tomcat/Lucee the <Connector>'s certificate in server.xml, IIS the "
    "site binding's certificate, or the reverse proxy (nginx/Apache) in front; then reload that server and "
    "check the new expiry here. Automate the renewal (ACME/certbot, or a calendar entry 30 days ahead) so it "
    "does not come back."
)


def latest_certificate(records) -> Certificate | None:
    return next((r.certificate for r in reversed(records) if r.certificate is not None), None)


class TlsExpiry(Check):
    id = "app.tls_expiry"
    engines = frozenset({HOST})
    title = "App server's TLS certificate expires soon or has expired"
    defaults = {"warning_days": 30, "critical_days": 7}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        warning_days, critical_days = ctx.options["warning_days"], ctx.options["critical_days"]
        for app in with_url(ctx.config):
            cert = latest_certificate(recent_probes(ctx, app, 1))
            if cert is None:
                continue  # plain HTTP
            days = cert.expiry_seconds() / DAY
            if days > warning_days:
                continue
            severity = "critical" if days <= critical_days else "warning"
            expires = iso_utc(_utc(cert.not_after))
            summary = (f"TLS certificate expired {-days:.1f} days ago ({expires})" if days < 0
                       else f"TLS certificate expires in {days:.1f} days ({expires})")
            yield app_finding(
                self, app, severity, app.url, summary,
                RECOMMENDATION.format(subject=cert.subject, issuer=cert.issuer),
                days_left=round(days, 2), not_after=expires, subject=cert.subject, issuer=cert.issuer,
                warning_days=warning_days, critical_days=critical_days,
            )


def _utc(epoch: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC)
