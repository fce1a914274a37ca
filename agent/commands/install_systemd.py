"""``l4agent install-systemd``: lay out the systemd units, the system user, an example config
and the state directory, so ``systemctl enable --now l4agent`` is all that is left.

The files come from the repository's ``systemd/`` and ``deploy/`` folders: in a source checkout
(or an editable install) straight from there, after ``pip install`` from
``<prefix>/share/l4agent`` where the wheel's data files put them. There is one copy of each.
Units are rewritten on the way so ExecStart runs the l4agent this command belongs to.
Running it twice changes nothing; an existing config is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import click

from l4agent.agent.commands.clikit import EXIT_USAGE, common_options

UNITS = ("l4agent.service", "l4agent-report.service", "l4agent-report.timer")
SYSUSERS = "l4agent.sysusers"
EXAMPLE_CONFIG = "l4agent.example.toml"
# The ExecStart binary written in the shipped units, replaced by the real one on install.
SHIPPED_BINARY = "/opt/l4agent/bin/l4agent"
USER = GROUP = "l4agent"
# Where the agent must not be installed: l4agent.service hides these (ProtectHome=, PrivateTmp=).
# Only compared with the binary's path, never written to.
HIDDEN_FROM_SERVICE = ("/home/", "/root/", "/run/user/", "/tmp/", "/var/tmp/")  # noqa: S108  # nosec B108


@dataclass(frozen=True)
class Layout:
    """Where everything goes under ``prefix`` ("/" for a real install)."""

    prefix: Path

    def path(self, absolute: str) -> Path:
        return self.prefix / absolute.lstrip("/")

    @property
    def unit_dir(self) -> Path:
        return self.path("/etc/systemd/system")

    @property
    def sysusers_file(self) -> Path:
        return self.path("/etc/sysusers.d/l4agent.conf")

    @property
    def config_dir(self) -> Path:
        return self.path("/etc/l4agent")

    @property
    def config_file(self) -> Path:
        return self.config_dir / "l4agent.toml"

    @property
    def state_dir(self) -> Path:
        return self.path("/var/lib/l4agent")

    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"


def shipped_root() -> Path:
    """The folder holding ``systemd/`` and ``deploy/``: the checkout, else the installed data."""
    checkout = Path(__file__).resolve().parents[2]
    installed = Path(sysconfig.get_path("data")) / "share" / "l4agent"
    for root in (checkout, installed):
        if (root / "systemd" / "l4agent.service").is_file():
            return root
    raise FileNotFoundError(f"the systemd units are neither in {checkout / 'systemd'} nor in "
                            f"{installed / 'systemd'}; reinstall l4agent")


def default_binary() -> Path | None:
    """The ``l4agent`` console script of this installation (beside the interpreter), else PATH's."""
    beside = Path(sys.executable).parent / "l4agent"
    if beside.is_file():
        return beside
    found = shutil.which("l4agent")
    return Path(found) if found else None


def render_unit(text: str, binary: Path) -> str:
    """A shipped unit with ExecStart pointing at ``binary``."""
    return text.replace(SHIPPED_BINARY, str(binary))


def write_file(path: Path, content: str, mode: int, overwrite: bool = True) -> str:
    """Write ``content`` to ``path`` atomically -> what happened: created, updated, unchanged, kept."""
    if path.exists():
        if not overwrite:
            return "kept (exists)"
        if path.read_text(encoding="utf-8") == content and (path.stat().st_mode & 0o7777) == mode:
            return "unchanged"
        action = "updated"
    else:
        action = "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(temporary, mode)  # the umask must not loosen or tighten it
    os.replace(temporary, path)
    return action


def make_dir(path: Path, mode: int) -> str:
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True)
    if (path.stat().st_mode & 0o7777) != mode:
        os.chmod(path, mode)
        return "updated" if existed else "created"
    return "unchanged" if existed else "created"


def lookup_ids(root: Path) -> tuple[int, int] | None:
    """(uid, gid) of the l4agent user in ``root``/etc/passwd, or None when it does not exist."""
    try:
        for line in (root / "etc" / "passwd").read_text(encoding="utf-8").splitlines():
            fields = line.split(":")
            if len(fields) >= 4 and fields[0] == USER:
                return int(fields[2]), int(fields[3])
    except OSError:
        return None
    return None


def apply_sysusers(layout: Layout) -> str:
    """Apply the sysusers file with systemd-sysusers (``--root`` for a prefix)."""
    binary = shutil.which("systemd-sysusers")
    if binary is None:
        return "skipped: systemd-sysusers not found (create the user with useradd --system l4agent)"
    argv = [binary]
    if layout.prefix != Path("/"):
        argv.append(f"--root={layout.prefix}")
    argv.append(str(layout.sysusers_file))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        return f"failed: {(proc.stderr or proc.stdout).strip()}"
    return "ok"


def set_ownership(layout: Layout) -> str:
    """State dir owned by l4agent; the config file readable by its group (not by others)."""
    ids = lookup_ids(layout.prefix)
    if ids is None:
        return "skipped: no l4agent user"
    uid, gid = ids
    for path in (layout.state_dir, layout.reports_dir):
        os.chown(path, uid, gid)
    if layout.config_file.exists() and layout.config_file.stat().st_uid == 0:
        os.chown(layout.config_file, 0, gid)
    return f"ok (uid {uid}, gid {gid})"


def install(layout: Layout, binary: Path, create_users: bool) -> list[tuple[str, Path | str]]:
    """Lay everything out; returns (what happened, path) per step."""
    root = shipped_root()
    steps: list[tuple[str, Path | str]] = []
    for unit in UNITS:
        text = render_unit((root / "systemd" / unit).read_text(encoding="utf-8"), binary)
        steps.append((write_file(layout.unit_dir / unit, text, 0o644), layout.unit_dir / unit))
    sysusers = (root / "systemd" / SYSUSERS).read_text(encoding="utf-8")
    steps.append((write_file(layout.sysusers_file, sysusers, 0o644), layout.sysusers_file))
    # 0755 like systemd's ConfigurationDirectory=: the files in it guard themselves (0640, 0600).
    steps.append((make_dir(layout.config_dir, 0o755), layout.config_dir))
    example = (root / "deploy" / EXAMPLE_CONFIG).read_text(encoding="utf-8")
    steps.append((write_file(layout.config_file, example, 0o640, overwrite=False), layout.config_file))
    steps.append((make_dir(layout.state_dir, 0o750), layout.state_dir))
    steps.append((make_dir(layout.reports_dir, 0o750), layout.reports_dir))
    if create_users:
        steps.append((apply_sysusers(layout), "user l4agent (systemd-sysusers)"))
        if os.geteuid() == 0:
            steps.append((set_ownership(layout), "ownership of the state and config directories"))
    return steps


@click.command("install-systemd")
@click.option("--prefix", type=click.Path(file_okay=False), default="/", show_default=True,
              help="Install under this root instead of / (for packaging or a test).")
@click.option("--bin", "binary", type=click.Path(dir_okay=False), default=None,
              help="The l4agent executable the units run (default: the one running this command).")
@click.option("--create-user/--no-create-user", default=None,
              help="Run systemd-sysusers and hand the state directory to l4agent "
                   "(default: only when --prefix is /).")
@common_options
def install_systemd(config_path: str | None, prefix: str, binary: str | None, create_user: bool | None) -> None:
    """Install the systemd units, the l4agent system user, an example config and the state dir.

    \b
    Lays out (under --prefix):
      /etc/systemd/system/l4agent.service          the daemon, hardened, as user l4agent
      /etc/systemd/system/l4agent-report.{service,timer}   the daily health report
      /etc/sysusers.d/l4agent.conf                 the system user
      /etc/l4agent/l4agent.toml                    example config, mode 0640 (never overwritten)
      /var/lib/l4agent                             the state directory

    Safe to run again (after an upgrade, say): it only changes what differs.

    \b
    Then:
      systemctl daemon-reload
      systemctl enable --now l4agent.service l4agent-report.timer
    """
    layout = Layout(Path(prefix).resolve())
    executable = Path(binary).resolve() if binary else default_binary()
    if executable is None or not executable.is_file():
        click.echo("error: cannot find the l4agent executable; pass --bin PATH", err=True)
        sys.exit(EXIT_USAGE)
    try:
        steps = install(layout, executable, create_users=layout.prefix == Path("/") if create_user is None
                        else create_user)
    except OSError as exc:
        click.echo(f"error: {exc.filename or ''}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
    for action, path in steps:
        click.echo(f"{action:<16} {path}")
    if str(executable).startswith(HIDDEN_FROM_SERVICE):
        click.echo(f"warning: {executable} is under a directory l4agent.service cannot see (ProtectHome=, "
                   "PrivateTmp=); install the agent under /opt/l4agent (README: Running as a service)", err=True)
    if layout.prefix == Path("/"):
        click.echo("\nnext: edit /etc/l4agent/l4agent.toml, then\n"
                   "  systemctl daemon-reload\n"
                   "  systemctl enable --now l4agent.service l4agent-report.timer")
