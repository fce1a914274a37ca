"""security.tls_weak (host): the app tier's https URL accepts TLS below 1.2, or its certificate
is about to expire, or it is self-signed where that is not acceptable.

Per ``[[appservers]]`` https URL, one finding listing what is wrong:
- TLS 1.0/1.1 accepted: warning (critical when nothing newer is negotiated). Tested by a
  handshake pinned to each old version; when the local OpenSSL cannot offer one, the evidence
  says so and the negotiated version is reported instead.
- certificate expired or within ``tls_expiry_critical_days``: critical; within
  ``tls_expiry_warning_days``: warning.
- self-signed while ``agent.environment`` is in ``self_signed_environments``: warning.
A URL that cannot be reached is one info finding (the app-server collector reports outages).
The handshakes verify nothing and send no HTTP request.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from l4agent.diagnostics.base import HOST, SEVERITY_RANK, Check, CheckContext, Finding

# OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above; level 0 lets us ask for them.
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
LEGACY_VERSIONS = (("TLSv1", "TLSv1"), ("TLSv1.1", "TLSv1_1"))  # (name, ssl.TLSVersion member)
MODERN = ("TLSv1.2", "TLSv1.3")

PROTOCOL_FIX = ("allow TLS 1.2 and 1.3 only: Tomcat/Lucee `sslEnabledProtocols=\"TLSv1.2,TLSv1.3\"` on the "
                "HTTPS Connector; nginx `ssl_protocols TLSv1.2 TLSv1.3;`; Apache `SSLProtocol -all +TLSv1.2 "
                "+TLSv1.3`; IIS: disable TLS 1.0/1.1 under SCHANNEL\\Protocols in the registry (or IIS Crypto)")


@dataclass
class TlsReport:
    """What the handshakes showed about one endpoint."""

    negotiated: str | None = None
    certificate_der: bytes | None = None
    legacy: dict[str, str] = field(default_factory=dict)  # version -> accepted | refused | not testable: why


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # noqa: S501 - we inspect the certificate, we do not trust it
    return context


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> ssl.SSLSocket:
    raw = socket.create_connection((host, port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def _legacy_result(host: str, port: int, member: str, timeout: float) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # asking for old versions is the point
        try:
            context = _unverified_context()
            version = getattr(ssl.TLSVersion, member)
            context.minimum_version = context.maximum_version = version
            context.set_ciphers(LEGACY_CIPHERS)
        except (ValueError, ssl.SSLError) as exc:
            return f"not testable: the local OpenSSL refuses it ({exc})"
        try:
            with _handshake(host, port, context, timeout):
                return "accepted"
        except ssl.SSLError as exc:
            if exc.reason == "NO_PROTOCOLS_AVAILABLE":
                return "not testable: the local OpenSSL cannot offer it"
            return "refused"
        except OSError:
            return "refused"  # some servers just drop an unwanted ClientHello


def probe(host: str, port: int, timeout: float) -> TlsReport:
    """Handshake once as a modern client (certificate, negotiated version), then once per legacy
    version. Raises OSError when the endpoint cannot be reached at all."""
    report = TlsReport()
    with _handshake(host, port, _unverified_context(), timeout) as tls:
        report.negotiated = tls.version()
        report.certificate_der = tls.getpeercert(binary_form=True)
    for name, member in LEGACY_VERSIONS:
        report.legacy[name] = _legacy_result(host, port, member, timeout)
    return report


def certificate_facts(der: bytes) -> dict:
    """not_after (aware UTC), subject, issuer and whether it signed itself."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    cert = x509.load_der_x509_certificate(der)
    self_signed = cert.issuer == cert.subject
    if self_signed:
        try:
            cert.verify_directly_issued_by(cert)
        except (ValueError, TypeError, InvalidSignature):  # same name, another signer
            self_signed = False
    return {"not_after": cert.not_valid_after_utc, "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(), "self_signed": self_signed}


class TlsWeak(Check):
    id = "security.tls_weak"
    engines = frozenset({HOST})
    title = "app tier https: TLS below 1.2, certificate near expiry, self-signed on production"
    defaults = {"tls_expiry_warning_days": 30, "tls_expiry_critical_days": 7,
                "self_signed_environments": ["production"]}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        for app in ctx.config.appservers:
            if app.url and app.url.lower().startswith("https://"):
                yield from self._review(ctx, app.name, app.url, app.timeout)

    def _review(self, ctx: CheckContext, name: str, url: str, timeout: float) -> Iterator[Finding]:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 443
        endpoint = f"https://{parts.netloc}"
        try:
            report = probe(host, port, timeout)
        except (OSError, ssl.SSLError) as exc:
            yield self.finding(ctx, "info", endpoint, f"TLS not reviewed: {host}:{port} did not complete a "
                               f"handshake ({exc.strerror or exc})", "check that the app server is up (see "
                               "the appserver collector) and run the review again", appserver=name)
            return
        problems: list[tuple[str, str, str]] = []  # (severity, problem, fix)
        accepted = [version for version, result in report.legacy.items() if result == "accepted"]
        if report.negotiated not in MODERN:
            problems.append(("critical", f"negotiates {report.negotiated} at best", PROTOCOL_FIX))
        elif accepted:
            problems.append(("warning", f"accepts {', '.join(accepted)}", PROTOCOL_FIX))
        facts = certificate_facts(report.certificate_der)
        days_left = (facts["not_after"] - dt.datetime.now(dt.UTC)).total_seconds() / 86400
        renew = f"renew the certificate (it ends {facts['not_after']:%Y-%m-%d %H:%M} UTC) and reload the server"
        if days_left <= 0:
            problems.append(("critical", "its certificate has expired", renew))
        elif days_left <= ctx.options["tls_expiry_critical_days"]:
            problems.append(("critical", f"its certificate expires in {days_left:.1f} days", renew))
        elif days_left <= ctx.options["tls_expiry_warning_days"]:
            problems.append(("warning", f"its certificate expires in {days_left:.0f} days", renew))
        environment = ctx.config.agent.environment
        if facts["self_signed"] and environment in ctx.options["self_signed_environments"]:
            problems.append(("warning", f"its certificate is self-signed on {environment}",
                             "install a certificate from a CA the clients trust (public, or the company's own)"))
        if not problems:
            return
        severity = max((p[0] for p in problems), key=SEVERITY_RANK.__getitem__)
        yield self.finding(
            ctx, severity, endpoint, f"{endpoint} ({name}) " + "; ".join(p[1] for p in problems),
            "; ".join(dict.fromkeys(p[2] for p in problems)),
            appserver=name, negotiated=report.negotiated, legacy_protocols=report.legacy,
            certificate_not_after=facts["not_after"].isoformat(), days_left=round(days_left, 1),
            subject=facts["subject"], issuer=facts["issuer"], self_signed=facts["self_signed"])
