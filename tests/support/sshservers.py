"""Real OpenSSH servers on loopback for testing the agent's remote (paramiko) features.

Everything here is plain Python (no pytest) so it can also be used from scripts:

    with SshServer() as srv:
        print(srv.run("uname -s").stdout)

Each :class:`SshServer` runs its own ``/usr/sbin/sshd -D -e`` with a throwaway config, host key
and authorized_keys in a private temp directory, listening on a free loopback port. Users log in
as the unprivileged system user ``l4test`` (created on first use) with an ed25519 client key.
``SetEnv PATH=...`` in the sshd config puts :attr:`SshServer.bin_dir` first on the PATH of every
command run over SSH, so tests can drop an ``l4agent`` wrapper there ("agent mode") or leave it
empty ("agentless mode").

Needs root (sshd privilege separation, creating the user) and the openssh-server/-client packages.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
TEST_USER = "l4test"
TEST_HOME = "/home/l4test"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_USER_LOCK = "/run/l4test-user.lock"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on *host* that was free a moment ago (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port(host: str = "127.0.0.1") -> int:
    """Return a port on *host* with nothing listening: connecting to it is refused."""
    return free_port(host)


def _read_shadow_password(user: str) -> str | None:
    try:
        with open("/etc/shadow", encoding="utf-8") as fh:
            for line in fh:
                fields = line.rstrip("\n").split(":")
                if fields[0] == user and len(fields) > 1:
                    return fields[1]
    except OSError:
        pass
    return None


def ensure_test_user(name: str = TEST_USER, home: str = TEST_HOME) -> pwd.struct_passwd:
    """Create the unprivileged login user *name* if missing (idempotent, safe across processes).

    The account gets ``/bin/bash`` and a home directory. Its password field is set to ``*``
    (no password, but *not locked*): with ``UsePAM no`` sshd rejects accounts whose shadow
    password starts with ``!`` -- which is what ``useradd`` writes -- even for key logins.
    """
    with open(_USER_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--create-home", "--home-dir", home,
                 "--shell", "/bin/bash", "--password", "*", name],
                check=True, capture_output=True, text=True,
            )
            pw = pwd.getpwnam(name)
        if (_read_shadow_password(name) or "").startswith("!"):
            subprocess.run(["usermod", "--password", "*", name], check=True, capture_output=True)
        if not os.path.isdir(pw.pw_dir):
            os.makedirs(pw.pw_dir, mode=0o755)
            os.chown(pw.pw_dir, pw.pw_uid, pw.pw_gid)
        return pw


def _readable_by(user: str, path: Path) -> bool:
    return subprocess.run(["runuser", "-u", user, "--", "test", "-r", str(path)], capture_output=True).returncode == 0


def user_python(user: str = TEST_USER) -> str:
    """A Python interpreter of the running version that *user* is able to execute."""
    wanted = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/{wanted}", f"/usr/local/bin/{wanted}"):
        probe = subprocess.run(["runuser", "-u", user, "--", candidate, "-c", "pass"],
                               capture_output=True)
        if probe.returncode == 0:
            return candidate
    raise RuntimeError(f"no {wanted} interpreter executable by {user!r}")


@dataclass(frozen=True)
class ClientKey:
    """An ed25519 key pair for logging in: ``path`` is the private key file (0600)."""

    path: Path
    public: str  # "ssh-ed25519 AAAA... comment"

    @classmethod
    def generate(cls, directory: str | os.PathLike, name: str = "id_ed25519") -> ClientKey:
        """Generate a new passphrase-less ed25519 key pair (OpenSSH format) in *directory*."""
        path = Path(directory) / name
        _keygen(path, comment=f"l4test-{name}")
        return cls(path=path, public=Path(f"{path}.pub").read_text().strip())


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, capture_output=True, text=True,
    )
    os.chmod(path, 0o600)


class SshServer:
    """A real sshd on a loopback address and free port that accepts ``l4test`` by key only.

    Attributes (valid after :meth:`start`): ``host``, ``port``, ``user``, ``client_key_path``
    (private key, 0600), ``client_key`` (:class:`ClientKey`), ``host_key_public``
    (``"ssh-ed25519 AAAA..."``), ``bin_dir`` (first on the PATH of remote commands),
    ``home`` (the user's home directory), ``tmpdir`` (this server's private directory).

    Pass ``client_key`` to make several servers accept the same key (e.g. a jump host and its
    target), otherwise each server generates its own. ``forwarding`` toggles
    ``AllowTcpForwarding`` (on by default so any instance can act as a bastion).
    """

    START_TIMEOUT = 10.0
    BIND_ATTEMPTS = 5

    def __init__(self, host: str = "127.0.0.1", *, client_key: ClientKey | None = None,
                 forwarding: bool = True, user: str = TEST_USER, name: str = "sshd") -> None:
        self.host = host
        self.port: int | None = None
        self.user = user
        self.name = name
        self.forwarding = forwarding
        self.client_key = client_key
        self._given_key = client_key
        self.tmpdir: Path | None = None
        self.bin_dir: Path | None = None
        self.home: str | None = None
        self.host_key_public: str | None = None
        self._proc: subprocess.Popen | None = None
        self._uid: int | None = None
        self._log: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SshServer:
        """Prepare keys/config and start sshd; returns once it answers with an SSH banner."""
        if self._proc is not None:
            return self
        if os.geteuid() != 0:
            raise RuntimeError("SshServer needs root (sshd privilege separation, test user)")
        for tool in (SSHD, SSH_KEYGEN):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} not found: install openssh-server and openssh-client")
        account = ensure_test_user(self.user)
        self.home, self._uid = account.pw_dir, account.pw_uid
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege-separation chroot
        try:
            self._prepare_files()
            self._start_on_free_port()
        except BaseException:
            self.close()
            raise
        return self

    def _start_on_free_port(self) -> None:
        last_error = ""
        for _ in range(self.BIND_ATTEMPTS):
            self.port = free_port(self.host)
            self._write_config()
            try:
                self._launch()
            except _PortTaken as exc:  # lost the race for the port: pick another one
                last_error = str(exc)
                continue
            self.write_known_hosts(self.tmpdir / "known_hosts", append=False)
            return
        raise RuntimeError(f"sshd could not bind a port on {self.host}: {last_error}")

    def stop(self) -> None:
        """Stop sshd and every process it spawned, including orphaned user commands.

        Session processes are sshd's descendants plus any process carrying this server's
        ``L4TEST_SSHD`` environment marker (backgrounded commands get re-parented). They are
        ended deepest first so each parent can reap its children (no zombies left to PID 1),
        then the listener itself.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for layer in self._session_layers(proc.pid):
            for p in layer:
                _signal(p, signal.SIGTERM)
            survivors = _wait_gone(layer, timeout=2)
            for p in survivors:
                _signal(p, signal.SIGKILL)
            _wait_gone(survivors, timeout=2)
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the server and remove its temp directory (safe to call repeatedly)."""
        self.stop()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None

    def __enter__(self) -> SshServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SshServer {self.name} {self.user}@{self.host}:{self.port}>"

    @property
    def running(self) -> bool:
        """True while the listening sshd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the listening sshd (None when stopped)."""
        return self._proc.pid if self._proc is not None else None

    # -- client-side helpers ---------------------------------------------------------------

    @property
    def client_key_path(self) -> Path:
        assert self.client_key is not None, "server not started"
        return self.client_key.path

    @property
    def address(self) -> str:
        """``user@host:port`` as the ``l4agent remote`` command line takes it."""
        return f"{self.user}@{self.host}:{self.port}"

    def known_hosts_line(self) -> str:
        """This server's known_hosts entry, e.g. ``[127.0.0.1]:40211 ssh-ed25519 AAAA...``."""
        host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        keytype, b64 = self.host_key_public.split()[:2]
        return f"{host} {keytype} {b64}"

    def write_known_hosts(self, path: str | os.PathLike, append: bool = True) -> Path:
        """Write (append by default) :meth:`known_hosts_line` to *path*; returns the path."""
        path = Path(path)
        with open(path, "a" if append else "w", encoding="utf-8") as fh:
            fh.write(self.known_hosts_line() + "\n")
        return path

    def install_script(self, name: str, text: str) -> Path:
        """Drop an executable script (mode 0755) called *name* into :attr:`bin_dir`."""
        path = self.bin_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
        return path

    def install_l4agent_wrapper(self, repo_root: str | os.PathLike | None = None,
                                name: str = "l4agent") -> Path:
        """Install an ``l4agent`` wrapper (agent mode) running this checkout as the test user.

        It runs ``python -m l4agent`` with the repo and the current interpreter's site-packages
        on PYTHONPATH, using the current interpreter if the test user may execute it, else the
        system ``python3`` of the same version (a pyenv/venv python under /root is not
        reachable for ``l4test``). When the test user cannot read the checkout (a clone under
        a 0700 home), the code and the few libraries agent mode imports are copied into this
        server's world-readable temp dir instead.
        """
        repo = Path(repo_root) if repo_root else Path(__file__).resolve().parents[2]
        python = user_python(self.user)
        paths = [str(repo)] + [p for p in sys.path if p.endswith("-packages")]
        if not _readable_by(self.user, repo / "agent" / "__init__.py"):
            paths = [str(self._readable_copy(repo))]
        return self.install_script(name, (
            "#!/bin/sh\n"
            f"PYTHONPATH={shlex.quote(':'.join(paths))}${{PYTHONPATH:+:$PYTHONPATH}}\n"
            "export PYTHONPATH\n"
            f'exec {shlex.quote(python)} -m l4agent "$@"\n'
        ))

    def _readable_copy(self, repo: Path) -> Path:
        """The agent's packages and its runtime libraries, copied where the test user can read."""
        target = self.tmpdir / "agent-code"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(mode=0o755)
        for package in ("agent", "collectors", "diagnostics", "exporters"):
            shutil.copytree(repo / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
        wanted = ("click", "psutil", "prometheus_client", "pyodbc", "bcrypt")
        for site in (Path(p) for p in sys.path if p.endswith("-packages") and Path(p).is_dir()):
            for entry in site.iterdir():
                if entry.name.split(".")[0].split("-")[0] in wanted and not (target / entry.name).exists():
                    copy = shutil.copytree if entry.is_dir() else shutil.copy2
                    copy(entry, target / entry.name)
        subprocess.run(["chmod", "-R", "a+rX", str(target)], check=True)
        return target

    def clear_bin_dir(self) -> None:
        """Remove everything from :attr:`bin_dir` (back to "agentless")."""
        for entry in self.bin_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def ssh_command(self, cmd: str | None = None) -> list[str]:
        """argv for the system ``ssh`` client, strict host-key checking against this server."""
        argv = [
            SSH, "-F", "/dev/null", "-p", str(self.port), "-i", str(self.client_key_path),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.tmpdir / 'known_hosts'}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            f"{self.user}@{self.host}",
        ]
        return argv + ([cmd] if cmd is not None else [])

    def run(self, cmd: str, *, check: bool = False, timeout: float = 30,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run *cmd* as the test user through the system ``ssh`` client (text output)."""
        return subprocess.run(self.ssh_command(cmd), capture_output=True, text=True,
                              check=check, timeout=timeout, input=input)

    def log_text(self) -> str:
        """What sshd has written to stderr so far (``-e``: its log)."""
        try:
            return self._log.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""

    # -- internals -------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix=f"l4test-{self.name}-"))
        # The user's session reads bin_dir and sshd reads authorized_keys as that user.
        self.tmpdir.chmod(0o755)
        self.bin_dir = self.tmpdir / "bin"
        self.bin_dir.mkdir(mode=0o755)
        self.bin_dir.chmod(0o755)
        _keygen(self.tmpdir / "ssh_host_ed25519_key", comment=f"{self.name}-host")
        self.host_key_public = " ".join(
            (self.tmpdir / "ssh_host_ed25519_key.pub").read_text().split()[:2])
        self.client_key = self._given_key or ClientKey.generate(self.tmpdir, "client_ed25519")
        auth = self.tmpdir / "authorized_keys"
        auth.write_text(self.client_key.public + "\n")
        auth.chmod(0o644)
        self._log = self.tmpdir / "sshd.log"

    def _write_config(self) -> None:
        d = self.tmpdir
        lines = [
            f"ListenAddress {self.host}:{self.port}",
            f"HostKey {d / 'ssh_host_ed25519_key'}",
            f"PidFile {d / 'sshd.pid'}",
            f"AuthorizedKeysFile {d / 'authorized_keys'}",
            f"AllowUsers {self.user}",
            "PermitRootLogin no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            f"AllowTcpForwarding {'yes' if self.forwarding else 'no'}",
            "X11Forwarding no",
            "PermitUserEnvironment no",
            # Applied after sshd's default PATH, so this is the PATH of every session;
            # L4TEST_SSHD marks session processes so stop() can find orphans.
            f"SetEnv PATH={self.bin_dir}:{SYSTEM_PATH} L4TEST_SSHD={d}",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            "LoginGraceTime 30",
            "LogLevel VERBOSE",
            f"Subsystem sftp {SFTP_SERVER}",
        ]
        (d / "sshd_config").write_text("\n".join(lines) + "\n")
        check = subprocess.run([SSHD, "-t", "-f", str(d / "sshd_config")],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejects its config {d / 'sshd_config'}:\n{check.stderr}")

    def _launch(self) -> None:
        with open(self._log, "wb") as log:  # fresh log per attempt
            self._proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.tmpdir / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _session_layers(self, pid: int) -> list[list[psutil.Process]]:
        """Processes below sshd *pid*, grouped by depth, deepest first.

        Orphans (the test user's processes with this server's env marker but no longer below
        sshd) come first.
        """
        layers: list[list[psutil.Process]] = []
        try:
            level = psutil.Process(pid).children()
        except psutil.NoSuchProcess:
            level = []
        while level:
            layers.append(level)
            level = [c for p in level for c in _children(p)]
        known = {p.pid for layer in layers for p in layer} | {pid}
        orphans = []
        for p in psutil.process_iter():
            try:
                if (p.pid not in known and p.uids().real == self._uid
                        and p.environ().get("L4TEST_SSHD") == str(self.tmpdir)):
                    orphans.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return [orphans, *reversed(layers)]

    def _wait_ready(self) -> None:
        """Poll until the port answers with an ``SSH-2.0-`` banner; raise with sshd's log."""
        deadline = time.monotonic() + self.START_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                log = self.log_text()
                if "Address already in use" in log or "Cannot bind any address" in log:
                    raise _PortTaken(log.strip())
                raise RuntimeError(
                    f"sshd exited with {self._proc.returncode} before accepting connections:\n{log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    s.settimeout(1)
                    banner = s.recv(256)
                if banner.startswith(b"SSH-2.0-"):
                    return
                last = f"unexpected banner {banner!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise RuntimeError(f"sshd on {self.host}:{self.port} not ready after "
                           f"{self.START_TIMEOUT}s ({last}); sshd log:\n{self.log_text()}")


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until *procs* have exited; return the ones still running after *timeout*.

    A zombie counts as exited, but gets a short grace to be reaped by its parent: orphans are
    re-parented to PID 1, which may reap late (or never, when a container's init is no reaper).
    """
    deadline = time.monotonic() + timeout
    grace_until = None
    while True:
        running, zombies = [], []
        for p in procs:
            try:
                (zombies if p.status() == psutil.STATUS_ZOMBIE else running).append(p)
            except psutil.NoSuchProcess:
                pass
        now = time.monotonic()
        if not running:
            grace_until = grace_until or now + 0.3
            if not zombies or now >= grace_until:
                return []
        elif now >= deadline:
            return running
        time.sleep(0.01)


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children()
    except psutil.NoSuchProcess:
        return []


def _signal(proc: psutil.Process, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except psutil.NoSuchProcess:
        pass


class _PortTaken(RuntimeError):
    """sshd could not bind its port (someone grabbed it between probe and bind)."""


class TcpStubServer:
    """A TCP listener on loopback that accepts connections and sends *greeting* (or nothing).

    With ``greeting=None`` connections are held open silently until :meth:`stop`: a peer
    waiting for an SSH banner hangs. With bytes, they are sent and the connection closed.
    """

    def __init__(self, host: str = "127.0.0.1", greeting: bytes | None = None) -> None:
        self.host = host
        self.port: int | None = None
        self.greeting = greeting
        self.accepted = 0
        self._sock: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> TcpStubServer:
        if self._sock is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(64)
        sock.settimeout(0.2)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name=f"tcpstub-{self.port}",
                                        daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        sock = self._sock
        while sock is self._sock:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            if self.greeting is None:
                with self._lock:
                    self._conns.append(conn)
                continue
            try:
                conn.sendall(self.greeting)
            except OSError:
                pass
            conn.close()

    def stop(self) -> None:
        """Close the listener and every held connection."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    close = stop

    def __enter__(self) -> TcpStubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.host}:{self.port}>"


class HangingServer(TcpStubServer):
    """Accepts TCP connections and never sends a byte (a hung SSH host)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, greeting=None)


class BogusBannerServer(TcpStubServer):
    """Answers every connection with a non-SSH banner (an HTTP server on the SSH port)."""

    def __init__(self, host: str = "127.0.0.1",
                 greeting: bytes = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n") -> None:
        super().__init__(host, greeting=greeting)
