"""Databases of an agentless host, reached from the specialist's machine through SSH port-forwards.

For each database target of a host, a listener on 127.0.0.1:<ephemeral port> pipes every
connection it accepts through a ``direct-tcpip`` channel to the database's host:port *as seen
from the SSH host* (the DSN's SERVER/PORT in the inventory). The target's DSN is then rewritten
to the local end (engine-specific keys; mssql's ``SERVER=tcp:host,port`` form) and the normal
collectors and checks run with the local ODBC drivers. File-based settings (backup_dirs,
data_dirs) are dropped: they name folders on the host, not on this machine.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import paramiko

from l4agent.agent.remote.ssh import Session
from l4agent.core.config import DatabaseConfig
from l4agent.dbaccess.connection import dsn_value, odbc_quote, with_key

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORTS = {"mssql": 1433, "postgresql": 5432, "mysql": 3306}
# DSN keys naming the server, per engine, in the order the drivers read them.
SERVER_KEYS = {"mssql": ("Address", "Addr", "Server"), "postgresql": ("Servername", "Server"),
               "mysql": ("Server",)}
_LOCAL_ALIASES = {"(local)", ".", "(localdb)"}


class ForwardError(Exception):
    """A target that cannot be forwarded; the message names it and says why."""


def database_address(target: DatabaseConfig) -> tuple[str, int]:
    """(host, port) of ``target``'s server as the SSH host reaches it, from its DSN."""
    where = f"database {target.name!r}"
    server = next((v for key in SERVER_KEYS[target.engine] if (v := dsn_value(target.dsn, key))), "") or "localhost"
    server = server.strip()
    port_text = None
    if target.engine == "mssql":
        if server.lower().startswith(("np:", "lpc:")):
            raise ForwardError(f"{where}: named pipes and shared memory cannot go through SSH; "
                               "use SERVER=tcp:host,port")
        server = server[4:] if server.lower().startswith("tcp:") else server
        server, _, port_text = server.partition(",")
        if "\\" in server:
            if not port_text:
                raise ForwardError(f"{where}: named instance {server}: give its TCP port (SERVER=host,port); "
                                   "the SQL Browser lookup (UDP 1434) cannot go through SSH")
            server = server.split("\\")[0]
        if server.lower() in _LOCAL_ALIASES:
            server = "localhost"
    else:
        port_text = dsn_value(target.dsn, "Port")
    port_text = (port_text or "").strip()
    if not port_text:
        return server, DEFAULT_PORTS[target.engine]
    if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 1 <= int(port_text) <= 65535:
        raise ForwardError(f"{where}: port {port_text[:20]!r} in the dsn is not a TCP port")
    return server, int(port_text)


def forwarded_target(target: DatabaseConfig, local_port: int) -> DatabaseConfig:
    """``target`` with its DSN pointing at the local end of the forward."""
    dsn = target.dsn
    if target.engine == "mssql":
        original_host, _ = database_address(target)
        for key in ("Address", "Addr"):  # these override Server in Microsoft's driver
            if dsn_value(dsn, key) is not None:
                dsn = with_key(dsn, key, f"tcp:{LOCAL_HOST},{local_port}")
        dsn = with_key(dsn, "Server", f"tcp:{LOCAL_HOST},{local_port}")
        # TLS still checks the certificate against the real server name, not 127.0.0.1.
        if "odbc driver" in (dsn_value(dsn, "Driver") or "").lower() \
                and dsn_value(dsn, "HostNameInCertificate") is None \
                and (dsn_value(dsn, "TrustServerCertificate") or "").lower() not in ("yes", "true"):
            dsn = with_key(dsn, "HostNameInCertificate", odbc_quote(original_host))
    else:
        key = "Servername" if target.engine == "postgresql" and dsn_value(dsn, "Servername") else "Server"
        dsn = with_key(with_key(dsn, key, LOCAL_HOST), "Port", str(local_port))
    return replace(target, dsn=dsn, backup_dirs=(), data_dirs=())


class PortForward:
    """A local listener whose connections are piped to ``host:port`` on the SSH host's side."""

    def __init__(self, session: Session, host: str, port: int):
        self.session = session
        self.host = host
        self.port = port
        self.local_port = 0
        self._listener: socket.socket | None = None
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def remote(self) -> str:
        return f"{self.host}:{self.port}"

    def check(self) -> None:
        """Open and close one channel, so an unreachable database is one clear error up front."""
        self._open_channel().close()

    def _open_channel(self) -> paramiko.Channel:
        try:
            return self.session.open_channel_to(self.host, self.port)
        except paramiko.ChannelException as exc:
            reason = exc.text or "refused"
            if exc.code == 1:  # SSH_OPEN_ADMINISTRATIVELY_PROHIBITED
                reason = f"{reason} (the SSH server forbids port forwarding: AllowTcpForwarding)"
            raise ForwardError(f"cannot reach {self.remote} from {self.session.address.host} "
                               f"through SSH: {reason}") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ForwardError(f"cannot reach {self.remote} through SSH: {exc or type(exc).__name__}") from None

    def start(self) -> int:
        """Listen on 127.0.0.1 (ephemeral port) and return the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((LOCAL_HOST, 0))
        listener.listen(16)
        self._listener = listener
        self.local_port = listener.getsockname()[1]
        self._spawn(self._accept_loop, f"forward-{self.local_port}")
        return self.local_port

    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._closed.is_set():
            try:
                ready, _, _ = select.select([listener], [], [], 0.2)
                if not ready:
                    continue
                conn, _ = listener.accept()
            except (OSError, ValueError):  # closed under us
                return
            self._spawn(self._serve, f"forward-{self.local_port}-conn", conn)

    def _serve(self, conn: socket.socket) -> None:
        try:
            channel = self._open_channel()
        except ForwardError as exc:
            log.warning("%s", exc)
            conn.close()
            return
        try:
            _pipe(conn, channel, self._closed)
        except (OSError, ValueError, EOFError, paramiko.SSHException) as exc:
            log.debug("forward to %s ended: %s", self.remote, exc)
        finally:
            channel.close()
            conn.close()

    def close(self) -> None:
        self._closed.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=2)


def _pipe(conn: socket.socket, channel: paramiko.Channel, closed: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the forward is closed."""
    while not closed.is_set():
        ready, _, _ = select.select([conn, channel], [], [], 0.5)
        if conn in ready:
            data = conn.recv(65536)
            if not data:
                return
            channel.sendall(data)
        if channel in ready:
            data = channel.recv(65536)
            if not data:
                return
            conn.sendall(data)


@dataclass
class Forwards:
    """The forwarded targets of one host: ``targets`` rewritten to the local ends, ``errors``
    (``{"target", "error"}``) for targets that could not be forwarded."""

    targets: list[DatabaseConfig] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    _local_to_remote: dict[int, str] = field(default_factory=dict)

    def explain(self, message: str) -> str:
        """``message`` with each local end (127.0.0.1:PORT, tcp:127.0.0.1,PORT) named as the
        database's real address, so an error says where the database really is."""
        for local_port, remote in self._local_to_remote.items():
            for local in (f"tcp:{LOCAL_HOST},{local_port}", f"{LOCAL_HOST},{local_port}", f"{LOCAL_HOST}:{local_port}"):
                message = message.replace(local, f"{remote} (through SSH)")
        return message


@contextlib.contextmanager
def forwarded(session: Session, targets: list[DatabaseConfig] | tuple[DatabaseConfig, ...]) -> Iterator[Forwards]:
    """Forward every target (checked up front); close all forwards on exit."""
    result = Forwards()
    forwards: list[PortForward] = []
    try:
        for target in targets:
            try:
                host, port = database_address(target)
                forward = PortForward(session, host, port)
                forward.check()
            except ForwardError as exc:
                message = str(exc)
                if not message.startswith("database "):
                    message = f"database {target.name!r}: {message}"
                result.errors.append({"target": target.name, "error": message})
                continue
            forwards.append(forward)
            local_port = forward.start()
            result._local_to_remote[local_port] = forward.remote
            result.targets.append(forwarded_target(target, local_port))
        yield result
    finally:
        for forward in forwards:
            forward.close()
