"""Running versions, read into the keys of the support table (``support_dates.json``), and
graded against it.

Every parser returns the table key (a string) or None when it does not recognise its input;
nothing here touches a database (the check hands in what the engine said about itself).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("support_dates.json")
#: within this many days of the end, a component is a warning
WARN_DAYS = 180

# -- host OS -------------------------------------------------------------------------------

_OS_IDS = {"debian": "debian", "ubuntu": "ubuntu", "rhel": "rhel", "rocky": "rocky",
           "almalinux": "almalinux", "centos": "centos"}
_MAJOR_ONLY = {"rhel", "rocky", "almalinux", "centos", "debian"}


def parse_os_release(text: str) -> tuple[str, str] | None:
    """/etc/os-release -> (component, version): ('debian', '12'), ('ubuntu', '22.04'), ('rhel', '8')
    for VERSION_ID="8.9". None for other distributions or without VERSION_ID (Debian testing)."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            fields[key.strip()] = value.strip().strip("\"'")
    component = _OS_IDS.get(fields.get("ID", "").lower())
    version = fields.get("VERSION_ID")
    if not component or not version:
        return None
    return component, version.split(".")[0] if component in _MAJOR_ONLY else version


def read_os_release(path: str = "/etc/os-release") -> tuple[str, str] | None:
    for candidate in (path, "/usr/lib/os-release"):
        try:
            return parse_os_release(Path(candidate).read_text())
        except OSError:
            continue
    return None


_WINDOWS = re.compile(r"Windows Server (\d{4})(?: (R2))?", re.I)


def windows_server(text: str) -> str | None:
    """'... on Windows Server 2019 Standard 10.0 <X64>' (SQL Server's @@VERSION) -> '2019'."""
    found = _WINDOWS.search(text or "")
    if not found:
        return None
    return f"{found.group(1)} R2" if found.group(2) else found.group(1)


# -- database engines ----------------------------------------------------------------------


def postgresql_major(server_version_num: Any) -> str | None:
    """``SHOW server_version_num``: 150018 -> '15', 90624 -> '9.6'."""
    try:
        num = int(str(server_version_num).strip())
    except ValueError:
        return None
    if num >= 100000:
        return str(num // 10000)
    if num >= 90000:
        return f"{num // 10000}.{(num // 100) % 100}"
    return None


def mariadb_series(version: str) -> str | None:
    """``SELECT VERSION()``: '10.11.6-MariaDB-0+deb12u1' -> '10.11' (also the '5.5.5-' replication
    prefix). MySQL (no 'MariaDB' in it) -> None: another product with other dates."""
    if not version or "mariadb" not in version.lower():
        return None
    found = re.match(r"\s*(?:5\.5\.5-)?(\d+)\.(\d+)\.", version)
    return f"{found.group(1)}.{found.group(2)}" if found else None


SQLSERVER_RELEASES = {12: "2014", 13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}


def sqlserver_release(product_version: str) -> str | None:
    """``SERVERPROPERTY('ProductVersion')`` '15.0.4375.4' -> '2019'."""
    found = re.match(r"\s*(\d+)\.", product_version or "")
    return SQLSERVER_RELEASES.get(int(found.group(1))) if found else None


# -- Tomcat and the JVM ----------------------------------------------------------------------

_TOMCAT = re.compile(r"Apache Tomcat/(\d+)\.(\d+)\.\d+")


def _tomcat_key(major: int, minor: int) -> str:
    # 8.5 and 10.1 are series of their own; 9.0 and 11.0 are keyed by the major
    return f"{major}.{minor}" if (major, minor) in {(8, 5), (10, 0), (10, 1)} else str(major)


def tomcat_series(text: str) -> str | None:
    """From ``ServerInfo.properties`` ('server.info=Apache Tomcat/10.1.34', 'server.number=8.5.100.0'),
    /manager/text/serverinfo or ``version.sh`` output."""
    found = _TOMCAT.search(text or "")
    if found:
        return _tomcat_key(int(found.group(1)), int(found.group(2)))
    found = re.search(r"^\s*server\.number\s*=\s*(\d+)\.(\d+)", text or "", re.M)
    return _tomcat_key(int(found.group(1)), int(found.group(2))) if found else None


def tomcat_server_info(catalina_home: str) -> str | None:
    """``ServerInfo.properties`` inside ``<catalina.home>/lib/catalina.jar`` (read, never run)."""
    jar = Path(catalina_home) / "lib" / "catalina.jar"
    try:
        with zipfile.ZipFile(jar) as archive:
            return archive.read("org/apache/catalina/util/ServerInfo.properties").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def java_feature(version: str) -> str | None:
    """'1.8.0_392' -> '8', '17.0.15' -> '17', 'openjdk version "21.0.2"' -> '21'."""
    quoted = re.search(r'version "([^"]+)"', version or "")
    found = re.match(r"\s*(\d+)(?:\.(\d+))?", quoted.group(1) if quoted else version or "")
    if not found:
        return None
    major = int(found.group(1))
    return found.group(2) if major == 1 and found.group(2) else str(major)


def java_release(exe: str) -> dict[str, str]:
    """The ``release`` file of the Java home a ``java`` executable belongs to (links followed):
    JAVA_VERSION, IMPLEMENTOR, ... ({} when there is none)."""
    real = Path(os.path.realpath(exe))
    for home in (real.parent.parent, real.parent.parent.parent):  # <home>/bin/java, <jdk>/jre/bin/java
        try:
            text = (home / "release").read_text(errors="replace")
        except OSError:
            continue
        return {k.strip(): v.strip().strip('"') for k, sep, v in (line.partition("=") for line in text.splitlines())
                if sep} | {"JAVA_HOME": str(home)}
    return {}


# -- the support table ------------------------------------------------------------------------


@cache
def support_table(path: str = str(TABLE)) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


@dataclass(frozen=True)
class Support:
    """How one running version stands against the support table."""

    component: str
    version: str
    severity: str  # critical past the end, warning within WARN_DAYS, info otherwise
    end: str | None  # ISO date, None when the vendor published none (or the version is unknown)
    days_left: int | None
    source: str | None
    successor: str | None
    known: bool  # False: the version is not in the table

    def sentence(self) -> str:
        name = f"{self.component} {self.version}"
        if not self.known:
            return f"{name} is not in l4agent's support table"
        if self.end is None:
            return f"{name}: the vendor publishes no end-of-support date"
        if self.days_left < 0:
            return f"{name} left vendor support on {self.end} ({-self.days_left} days ago)"
        if self.severity == "warning":
            return f"{name} leaves vendor support on {self.end} (in {self.days_left} days)"
        return f"{name} is supported until {self.end}"


def grade(component: str, version: str, today: dt.date | None = None, table: dict[str, Any] | None = None,
          warn_days: int = WARN_DAYS) -> Support:
    """``component`` ``version`` against the table (``today`` defaults to the UTC date)."""
    table = table or support_table()
    today = today or dt.datetime.now(dt.UTC).date()
    rows = table["components"].get(component, [])
    row = next((r for r in rows if r["version"] == version), None)
    if row is None:
        return Support(component, version, "info", None, None, None, None, known=False)
    successor = row.get("successor") or _newest(rows)
    if not row.get("end"):
        return Support(component, version, "info", None, None, row.get("source"), successor, known=True)
    days_left = (dt.date.fromisoformat(row["end"]) - today).days
    severity = "critical" if days_left < 0 else "warning" if days_left <= warn_days else "info"
    return Support(component, version, severity, row["end"], days_left, row.get("source"), successor, known=True)


def _newest(rows: list[dict[str, Any]]) -> str | None:
    dated = [r for r in rows if r.get("end")]
    return max(dated, key=lambda r: r["end"])["version"] if dated else None
