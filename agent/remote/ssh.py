"""SSH connections with paramiko: host keys verified, key file and SSH agent, optional jump host,
every step bounded by a timeout.

:class:`Connector` is shared by all hosts of a run: it holds the known_hosts file, the loaded
identity files and the jump-host connections (one per bastion, shared by every target behind
it, each target reached through a ``direct-tcpip`` channel passed to paramiko as the socket).
:meth:`Session.run` runs one command with a deadline and an output cap. Every failure comes out
as :class:`SshError` with one line fit to print.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import threading
import time
from dataclasses import dataclass

import paramiko

from l4agent.agent.remote.hosts import Address, HostSpec
from l4agent.agent.remote.known_hosts import HostKeyError, KnownHosts, changed_message, prepare_client
from l4agent.core.redact import redact

log = logging.getLogger(__name__)

MAX_STDOUT = 16 * 1024 * 1024  # bytes; a host answering with more is treated as broken
MAX_STDERR = 256 * 1024  # bytes kept of stderr (for the error line)


class SshError(Exception):
    """An SSH failure in one line. ``unreachable``: the host could not be reached or logged
    into at all (recap: unreachable), else it failed later (recap: failed)."""

    def __init__(self, message: str, unreachable: bool = False):
        super().__init__(redact(message))
        self.unreachable = unreachable


class CommandTimeout(SshError):
    """A remote command did not finish within its timeout."""


@dataclass
class CommandResult:
    exit_status: int
    stdout: bytes
    stderr: bytes

    def stderr_line(self, limit: int = 300) -> str:
        """The last non-empty stderr line, printable and short (for error messages)."""
        lines = [ln.strip() for ln in self.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        text = lines[-1] if lines else ""
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        return redact(text[:limit])


def load_identity(path: str) -> paramiko.PKey:
    """The private key in ``path`` (ed25519, ECDSA or RSA; OpenSSH or PEM format).

    ValueError with a clear line when it is missing, unreadable, encrypted or not a key.
    Encrypted keys belong in ssh-agent: the run is unattended and never asks for a passphrase.
    """
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"identity {path}: {exc.strerror}") from None
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key_file(path)
        except paramiko.PasswordRequiredException:
            raise ValueError(f"identity {path} is encrypted: load it into ssh-agent (ssh-add {path}) "
                             "and leave out -i") from None
        except (paramiko.SSHException, ValueError, TypeError):
            continue
    raise ValueError(f"identity {path}: not a private key paramiko can read (ed25519, ECDSA or RSA)")


class Connector:
    """Opens sessions to hosts; shared across the hosts of one run (thread-safe)."""

    def __init__(self, known_hosts: KnownHosts, connect_timeout: float = 10.0,
                 identities: dict[str, paramiko.PKey] | None = None):
        self.known_hosts = known_hosts
        self.connect_timeout = connect_timeout
        self.identities = dict(identities or {})
        self._jumps: dict[tuple, _Jump] = {}
        self._lock = threading.Lock()

    def open(self, spec: HostSpec) -> Session:
        """Connect and log in to ``spec`` (through its jump host if any); raises SshError."""
        sock = None
        if spec.jump is not None:
            sock = self._jump_channel(spec)
        client = self._login(spec.address, spec.identity, sock)
        return Session(client, spec.address, self.connect_timeout)

    def close(self) -> None:
        """Close the jump-host connections."""
        with self._lock:
            jumps, self._jumps = list(self._jumps.values()), {}
        for jump in jumps:
            jump.close()

    # -- internals -------------------------------------------------------------------------

    def _login(self, address: Address, identity: str | None, sock=None) -> paramiko.SSHClient:
        timeout = self.connect_timeout
        where = str(address)
        client = paramiko.SSHClient()
        prepare_client(client, self.known_hosts, address.known_hosts_name)
        try:
            pkey = self._identity(identity) if identity else None
        except ValueError as exc:
            client.close()
            raise SshError(f"{where}: {exc}", unreachable=True) from None
        started = time.monotonic()
        try:
            client.connect(
                address.host, address.port, username=address.user or _local_user(), pkey=pkey,
                allow_agent=True, look_for_keys=pkey is None, timeout=timeout, banner_timeout=timeout,
                auth_timeout=timeout, channel_timeout=timeout, sock=sock,
            )
            self.known_hosts.check_revoked(address.known_hosts_name, client.get_transport().get_remote_server_key())
        except BaseException as exc:
            transport = client.get_transport()
            # No "SSH-2.0-..." line came back: say so, whichever paramiko error won the race.
            no_banner = transport is not None and not transport.remote_version
            client.close()
            if not isinstance(exc, Exception):
                raise
            if no_banner and not isinstance(exc, HostKeyError | OSError):
                message = _no_banner(time.monotonic() - started, timeout)
            else:
                message = describe_connect_error(exc, address, identity, timeout, self.known_hosts)
            raise SshError(f"{where}: {message}", unreachable=True) from None
        return client

    def _identity(self, path: str) -> paramiko.PKey:
        """The key in ``path``, read once per run (ValueError when it cannot be used)."""
        with self._lock:
            if path not in self.identities:
                self.identities[path] = load_identity(path)
            return self.identities[path]

    def _jump_channel(self, spec: HostSpec) -> paramiko.Channel:
        """A ``direct-tcpip`` channel from the jump host to ``spec``'s SSH port."""
        key = (spec.jump, spec.identity)
        with self._lock:
            jump = self._jumps.setdefault(key, _Jump(spec.jump))
        transport = jump.transport(lambda: self._login(spec.jump, spec.identity))
        target = (spec.address.host, spec.address.port)
        try:
            return transport.open_channel("direct-tcpip", target, ("127.0.0.1", 0), timeout=self.connect_timeout)
        except paramiko.ChannelException as exc:
            raise SshError(f"{spec.address}: jump host {spec.jump} could not connect to "
                           f"{spec.address.host}:{spec.address.port}: {exc.text or 'refused'}", unreachable=True) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(f"{spec.address}: jump host {spec.jump}: {exc or type(exc).__name__}",
                           unreachable=True) from None


class _Jump:
    """One bastion's connection, made on first use and shared; a failure is remembered so the
    hosts behind a dead bastion fail at once instead of each waiting out the timeout."""

    def __init__(self, address: Address):
        self.address = address
        self._client: paramiko.SSHClient | None = None
        self._error: SshError | None = None
        self._lock = threading.Lock()

    def transport(self, login) -> paramiko.Transport:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._client is None or not self._client.get_transport().is_active():
                try:
                    self._client = login()
                except SshError as exc:
                    self._error = SshError(f"jump host {exc}", unreachable=True)
                    raise self._error from None
            return self._client.get_transport()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class Session:
    """A logged-in SSH connection to one host."""

    def __init__(self, client: paramiko.SSHClient, address: Address, channel_timeout: float):
        self.client = client
        self.address = address
        self.channel_timeout = channel_timeout

    @property
    def transport(self) -> paramiko.Transport:
        return self.client.get_transport()

    def run(self, command: str, timeout: float, max_stdout: int = MAX_STDOUT) -> CommandResult:
        """Run ``command`` (no stdin, no pty); stdout, stderr and exit status once it ends.

        Raises CommandTimeout after ``timeout`` seconds (the channel is closed) and SshError
        when the output exceeds ``max_stdout`` or the connection fails.
        """
        try:
            channel = self.transport.open_session(timeout=self.channel_timeout)
        except (paramiko.SSHException, OSError, EOFError, AttributeError) as exc:
            raise SshError(f"{self.address}: cannot open a session: {exc or type(exc).__name__}") from None
        try:
            # Callers build ``command`` from constants and shlex-quoted arguments.
            channel.exec_command(command)  # nosec B601
            channel.shutdown_write()
            return self._collect(channel, command, timeout, max_stdout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(f"{self.address}: connection failed while running a command: "
                           f"{exc or type(exc).__name__}") from None
        finally:
            channel.close()

    def _collect(self, channel: paramiko.Channel, command: str, timeout: float, max_stdout: int) -> CommandResult:
        deadline = time.monotonic() + timeout
        stdout, stderr = bytearray(), bytearray()
        while True:
            while channel.recv_ready():
                stdout += channel.recv(65536)
                if len(stdout) > max_stdout:
                    raise SshError(f"{self.address}: the command printed more than "
                                   f"{max_stdout // (1024 * 1024)} MiB; stopped reading")
            while channel.recv_stderr_ready():
                chunk = channel.recv_stderr(65536)
                if len(stderr) < MAX_STDERR:
                    stderr += chunk[: MAX_STDERR - len(stderr)]
            finished = channel.exit_status_ready() and (channel.eof_received or channel.closed)
            if finished and not channel.recv_ready() and not channel.recv_stderr_ready():
                return CommandResult(channel.recv_exit_status(), bytes(stdout), bytes(stderr))
            if channel.closed and not channel.recv_ready() and not channel.recv_stderr_ready():
                return CommandResult(-1, bytes(stdout), bytes(stderr))  # closed without an exit status
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandTimeout(f"{self.address}: command did not finish within {timeout:g}s")
            if channel.eof_received:  # output done; the exit status is on its way
                channel.status_event.wait(min(remaining, 0.05))
            else:
                select.select([channel], [], [], min(remaining, 0.5))

    def open_channel_to(self, host: str, port: int) -> paramiko.Channel:
        """A ``direct-tcpip`` channel from this host to ``host:port`` (for port-forwards)."""
        return self.transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0),
                                           timeout=self.channel_timeout)

    def close(self) -> None:
        self.client.close()


def describe_connect_error(exc: Exception, address: Address, identity: str | None, timeout: float,
                           known_hosts: KnownHosts) -> str:
    """One line for a failed connect or login."""
    if isinstance(exc, HostKeyError):
        return str(exc)
    if isinstance(exc, paramiko.BadHostKeyException):
        return changed_message(address.known_hosts_name, exc.key, exc.expected_key, known_hosts.path)
    if isinstance(exc, paramiko.AuthenticationException):
        tried = f"key {identity}" if identity else "default keys (~/.ssh/id_*)"
        return (f"login refused for user {address.user or _local_user()!r} (tried {tried} and the SSH agent's keys): "
                f"{exc}")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        codes = {getattr(e, "errno", None) for e in exc.errors.values()}
        if codes <= {errno.ECONNREFUSED}:
            return f"connection refused on port {address.port}"
        return f"cannot connect: {next(iter(exc.errors.values()))}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host name {address.host!r}: {exc.strerror}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused on port {address.port}"
    if isinstance(exc, paramiko.SSHException) and "banner" in str(exc).lower():
        return _no_banner(None, timeout)
    if isinstance(exc, EOFError):
        return "connection closed during the SSH handshake"
    if isinstance(exc, paramiko.SSHException):
        return f"SSH handshake failed: {exc}"
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _local_user() -> str:
    import getpass

    return getpass.getuser()


def _no_banner(elapsed: float | None, timeout: float) -> str:
    """Why no "SSH-2.0-..." line came: the peer hung until the timeout, or it closed (or answered
    something else) long before it: then saying "within 3s" after 6 ms would mislead."""
    if elapsed is not None and elapsed < timeout / 2:
        return (f"no SSH protocol banner: the server closed the connection after {elapsed * 1000:.0f} ms (not an "
                "SSH server, or sshd refused this client: MaxStartups, TCP wrappers, fail2ban)")
    return f"no SSH protocol banner within {timeout:g}s (not an SSH server, or it hangs)"
