"""Host-key verification against an OpenSSH known_hosts file.

A host whose key is not in the file is refused, naming the key's SHA256 fingerprint (the form
``ssh-keygen -lf`` prints), unless ``--accept-new`` is given: then a first-seen key is appended
to the file, like OpenSSH's ``StrictHostKeyChecking=accept-new``. A key that differs from the
recorded one is always refused. Nothing is ever accepted silently.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import threading

import paramiko


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64 without padding>`` of the public key blob, as OpenSSH prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class HostKeyError(Exception):
    """A host key was refused; the message says why and what to do."""


class KnownHosts:
    """The known_hosts file, read once and shared by every connection of a run (thread-safe).

    Hashed entries (``|1|...``) are understood; new entries are appended in plain form.
    """

    def __init__(self, path: str, accept_new: bool = False):
        self.path = os.path.expanduser(path)
        self.accept_new = accept_new
        self._keys = paramiko.HostKeys()
        self._revoked: set[bytes] = set()
        self._lock = threading.Lock()
        if os.path.exists(self.path):
            self._load()

    def _load(self) -> None:
        """Read the file line by line; a line paramiko cannot read is skipped, as ssh does.

        ``@revoked`` keys are remembered and refused; ``@cert-authority`` lines are ignored.
        (paramiko's own loader stops at the first line with bad base64.)
        """
        with open(self.path, "rb") as handle:  # OSError propagates: the caller reports it (exit 2)
            raw = handle.read()
        for line in raw.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            marker = None
            if line.startswith("@"):
                marker, _, line = line.partition(" ")
                line = line.strip()
            try:
                entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
            except Exception:  # noqa: BLE001, S112 - a malformed line is skipped, like OpenSSH does
                continue
            if entry is None:
                continue
            if marker == "@revoked":
                self._revoked.add(entry.key.asbytes())
            elif marker is None:
                for hostname in entry.hostnames:
                    self._keys.add(hostname, entry.key.get_name(), entry.key)

    def check_revoked(self, name: str, key: paramiko.PKey) -> None:
        """Refuse a key marked ``@revoked`` in the file, whatever else the file says."""
        if key.asbytes() in self._revoked:
            raise HostKeyError(f"host key of {name} ({key.get_name()} {fingerprint(key)}) is marked "
                               f"@revoked in {self.path}; refusing to connect")

    def keys_for(self, name: str) -> dict[str, paramiko.PKey]:
        """Recorded keys of ``name`` (``host`` or ``[host]:port``) by key type."""
        with self._lock:
            entry = self._keys.lookup(name)
            return dict(entry) if entry else {}

    def unknown(self, name: str, key: paramiko.PKey) -> None:
        """Called for a host with no recorded key: record it (``accept_new``) or refuse."""
        with self._lock:
            recorded = self._keys.lookup(name)
            if recorded:  # another connection of this run recorded it meanwhile
                if recorded.get(key.get_name()) == key:
                    return
                expected = next(iter(recorded.values()))
                raise HostKeyError(changed_message(name, key, expected, self.path))
            if not self.accept_new:
                raise HostKeyError(
                    f"host key of {name} is not in {self.path}: {key.get_name()} {fingerprint(key)}; "
                    f"check this fingerprint with the host's administrator, then add the key "
                    f"(ssh-keyscan) or rerun with --accept-new")
            self._append(name, key)
            self._keys.add(name, key.get_name(), key)

    def _append(self, name: str, key: paramiko.PKey) -> None:
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # other l4agent/ssh processes appending
            handle.seek(0, os.SEEK_END)
            needs_newline = False
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                needs_newline = handle.read(1) != b"\n"
            line = f"{name} {key.get_name()} {key.get_base64()}\n"
            handle.write((b"\n" if needs_newline else b"") + line.encode("ascii"))


def changed_message(name: str, presented: paramiko.PKey, expected: paramiko.PKey, path: str) -> str:
    return (f"HOST KEY CHANGED for {name}: it presented {presented.get_name()} {fingerprint(presented)}, "
            f"{path} has {expected.get_name()} {fingerprint(expected)}; refusing to connect (possible "
            f"man-in-the-middle). If the change is expected: ssh-keygen -R '{name}' -f {path}")


class _Policy(paramiko.MissingHostKeyPolicy):
    """paramiko's hook for a host without a recorded key: ask :class:`KnownHosts`."""

    def __init__(self, known: KnownHosts):
        self.known = known

    def missing_host_key(self, client, hostname, key) -> None:  # noqa: ARG002 - paramiko's signature
        self.known.unknown(hostname, key)


def prepare_client(client: paramiko.SSHClient, known: KnownHosts, name: str) -> None:
    """Give ``client`` the recorded keys of ``name`` and the refuse/accept-new policy."""
    for keytype, key in known.keys_for(name).items():
        client.get_host_keys().add(name, keytype, key)
    client.set_missing_host_key_policy(_Policy(known))
