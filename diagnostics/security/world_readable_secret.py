"""security.world_readable_secret (host): files holding secrets that every local user can read.

Looked at: the agent's own config file, every password/token file and TLS key it is configured
with (always secrets: critical when readable by others), and the ODBC ini files (``odbc_files``)
plus ``extra_files``, which count only when they hold a secret (a Password=/PWD= line, a
credential in a URL, a bcrypt hash): warning. Group permissions are left alone: sharing with a
service group is a choice. Only modes are read and, for the content test, the first 1 MiB;
no secret value goes into a finding.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from l4agent.diagnostics.base import HOST, Check, CheckContext, Finding

READ_LIMIT = 1 << 20  # bytes of a file read for the secret test

# A key=value line whose key names a secret (ODBC ini, TOML, .my.cnf), a URL with user:password@,
# a bcrypt hash (a basic-auth user of [agent.web]).
SECRET_PATTERNS = {
    "a password or token line": re.compile(r"(?im)(?:^|;)\s*(?:pwd|password|passwd|secret|token|api[_-]?key)\s*=\s*[^\s;]"),
    "credentials in a URL": re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:[^/\s@\"']+@"),
    "a bcrypt hash": re.compile(r"\$2[aby]\$\d\d\$"),
}


@dataclass(frozen=True)
class SecretFile:
    path: str
    what: str  # "password file of database erp"
    always_secret: bool  # True: its whole content is a secret; False: only if a pattern matches
    agents_own: bool  # the agent's own file, or one other programs read too


def agent_files(config) -> list[SecretFile]:
    """The files the agent's own config points at, secret by nature, and the config itself."""
    files = [SecretFile(config.path, "the l4agent config", False, True)] if config.path else []
    for db in config.databases:
        if db.password_file:
            files.append(SecretFile(db.password_file, f"password file of database {db.name}", True, True))
    for sink in config.sinks:
        for attribute in ("password_file", "token_file"):
            if getattr(sink, attribute):
                files.append(SecretFile(getattr(sink, attribute), f"{attribute.replace('_', ' ')} of sink {sink.name}", True, True))
    for app in config.appservers:
        if app.status_password_file:
            files.append(SecretFile(app.status_password_file, f"status password file of appserver {app.name}", True, True))
    if config.agent.web.tls_key_file:
        files.append(SecretFile(config.agent.web.tls_key_file, "the TLS private key of the agent's web server", True, True))
    return files


def secrets_in(path: str) -> list[str]:
    """Which kinds of secret the file's text holds (names of SECRET_PATTERNS)."""
    with open(path, "rb") as handle:
        text = handle.read(READ_LIMIT).decode("utf-8", "replace")
    return [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


class WorldReadableSecret(Check):
    id = "security.world_readable_secret"
    engines = frozenset({HOST})
    title = "config, password files and ODBC ini files with secrets readable by every user"
    defaults = {"odbc_files": ["/etc/odbc.ini", "/etc/odbcinst.ini", "~/.odbc.ini"], "extra_files": []}

    def run(self, ctx: CheckContext) -> Iterator[Finding]:
        candidates = agent_files(ctx.config) + [
            SecretFile(os.path.expanduser(path), "an ODBC ini file", False, False) for path in ctx.options["odbc_files"]
        ] + [SecretFile(os.path.expanduser(path), "a listed file", False, False) for path in ctx.options["extra_files"]]
        seen: set[str] = set()
        for candidate in candidates:
            real = os.path.realpath(candidate.path)
            if real in seen:
                continue
            seen.add(real)
            try:
                mode = os.stat(real).st_mode
            except OSError:
                continue  # absent: nothing to expose (a missing configured file is the collector's error)
            if not stat.S_ISREG(mode) or not mode & stat.S_IROTH:
                continue
            found = ["its whole content"] if candidate.always_secret else self._secrets(real)
            if not found:
                continue
            # o-rwx takes away exactly what is wrong and keeps the owner/group layout (root:l4agent 0640).
            fix = f"`chmod o-rwx {shlex.quote(candidate.path)}`"
            if not candidate.agents_own:
                fix += " (other programs' users that need it: give them a group), or take the password out of it"
            yield self.finding(
                ctx, "critical" if candidate.always_secret else "warning", candidate.path,
                f"{candidate.what} is readable by every user (mode {stat.S_IMODE(mode):04o}) and holds "
                + ("a secret" if candidate.always_secret else ", ".join(found)),
                fix, mode=f"{stat.S_IMODE(mode):04o}", secrets=found)

    @staticmethod
    def _secrets(path: str) -> list[str]:
        try:
            return secrets_in(path)
        except OSError:
            return []  # readable by others but not by us (the agent runs unprivileged): not judged
