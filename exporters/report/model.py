"""The health report's data, built once from a collection, a diagnostics result, the open work
records and the history, then rendered as HTML, Markdown or JSON (and live on the status page).

Nothing here reads the system: :func:`build_report` is a function of its inputs, so the report
command and the status page show the same thing for the same data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from l4agent import __version__
from l4agent.core.config import Config
from l4agent.core.durations import format_duration
from l4agent.core.snapshot import Snapshot
from l4agent.core.units import format_bytes, iso_epoch, iso_utc
from l4agent.diagnostics.coverage import Coverage, summary_lines
from l4agent.exporters.report import inputs as sources
from l4agent.exporters.report.compare import Comparison
from l4agent.exporters.report.inputs import Breach, HistoryView, RecordsView

OK, WARNING, CRITICAL = "ok", "warning", "critical"
VERDICT_RANK = {OK: 0, "info": 0, WARNING: 1, CRITICAL: 2}
VERDICTS = {0: OK, 1: WARNING, 2: CRITICAL}
MAX_REASONS = 8  # the verdict line stays readable; the sections below list everything
SEVERITY_ORDER = ("critical", "warning", "info")
HISTORY_WINDOW = 7 * 86400.0  # sparklines show the last week
FORECAST_WINDOW = 14 * 86400.0  # the disk-full chart shows two weeks of history
MAX_SPARK_FILESYSTEMS = 6
TOP_QUERIES = 10


@dataclass
class Row:
    cells: list[str]
    status: str | None = None  # ok | warning | critical | None (not judged)


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str | None = None


@dataclass
class Layer:
    name: str  # OS, Network, Database, App server
    tables: list[Table] = field(default_factory=list)


@dataclass
class Trend:
    """A series for a sparkline: ``kind`` says how to print its values (ratio, bytes)."""

    title: str
    kind: str
    points: list[tuple[float, float]]


@dataclass
class DiskForecast:
    mountpoint: str
    summary: str
    severity: str
    size_bytes: float
    used_bytes: float
    full_at: float  # epoch seconds
    days: float
    history: list[tuple[float, float]]  # used bytes over time


@dataclass
class TopQuery:
    target: str
    catalog: str
    query: str
    total_seconds: float
    calls: float
    mean_ms: float


@dataclass
class Report:
    host: str
    generated_at: float
    verdict: str
    reasons: list[str]
    layers: list[Layer]
    filesystems: list[tuple[str, float, str]]  # (mountpoint, used ratio, "12.0 GiB free of 50.0 GiB")
    findings: list[dict[str, Any]]
    breaches: list[Breach]
    records: list[dict[str, Any]]
    records_note: str | None
    trends: list[Trend]
    forecasts: list[DiskForecast]
    top_queries: list[TopQuery]
    errors: list[dict[str, Any]]  # collection and diagnostics errors: {source, target, what, error}
    unreachable: list[str]
    comparison: Comparison | None = None
    diagnostics_at: str | None = None  # when the findings were made (None: no run yet)
    history_note: str | None = None
    version: str = __version__
    config_path: str | None = None
    #: what the diagnostics examined per target and catalog, and what not and why
    coverage: list[Coverage] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        """A target, a catalog or a check could not be examined (report exits 3)."""
        return bool(self.unreachable) or any(c.not_examined for c in self.coverage)

    def coverage_lines(self) -> list[tuple[str, str]]:
        """One (target, "examined ...; not examined: ...") line per target."""
        return summary_lines(self.coverage)

    @property
    def generated_iso(self) -> str:
        return iso_utc(dt.datetime.fromtimestamp(self.generated_at, dt.UTC))

    def problems(self) -> dict[str, dict[str, str]]:
        """Everything wrong now, by a key that stays the same while the problem lasts."""
        out: dict[str, dict[str, str]] = {}
        for f in self.findings:
            if f["severity"] != "info":
                out[f"finding|{f['check']}|{f['target']}|{f['object']}"] = {
                    "severity": f["severity"], "text": f"{f['check']} on {f['target']} {f['object']}: {f['summary']}"}
        for b in self.breaches:
            out[f"threshold|{b.rule}|{b.target}|{b.object}"] = {
                "severity": b.level, "text": f"{b.summary} on {b.target} {b.object}: {b.line}"}
        return out

    def counts(self) -> dict[str, int]:
        counts = {severity: 0 for severity in SEVERITY_ORDER}
        for f in self.findings:
            counts[f["severity"]] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "generated_at": self.generated_iso,
            "version": self.version,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "findings": self.findings,
            "threshold_breaches": [asdict(b) for b in self.breaches],
            "records": self.records,
            "records_note": self.records_note,
            "layers": [{"name": layer.name, "tables": [
                {"title": t.title, "headers": t.headers, "note": t.note,
                 "rows": [{"cells": r.cells, "status": r.status} for r in t.rows]} for t in layer.tables]}
                for layer in self.layers],
            "filesystems": [{"mountpoint": m, "used_ratio": round(r, 4), "detail": d} for m, r, d in self.filesystems],
            "trends": [{"title": t.title, "kind": t.kind, "points": [[round(ts), round(v, 6)] for ts, v in t.points]}
                       for t in self.trends],
            "forecasts": [{**asdict(f), "history": [[round(ts), round(v)] for ts, v in f.history],
                           "full_at": iso_epoch(f.full_at)} for f in self.forecasts],
            "top_queries": [asdict(q) for q in self.top_queries],
            "errors": self.errors,
            "coverage": [c.to_dict() for c in self.coverage],
            "unreachable": self.unreachable,
            "comparison": self.comparison.to_dict() if self.comparison else None,
            "diagnostics_at": self.diagnostics_at,
        }


# ---------------------------------------------------------------------------------------------
# Building


def build_report(config: Config, host: str, snapshot: Snapshot | None, diagnosis: Any | None,
                 records: RecordsView, history: HistoryView, now: float,
                 breaches: Sequence[Breach] | None = None, cpu_busy: float | None = None) -> Report:
    """The report for these inputs. ``diagnosis`` is a DiagnoseResult or None (not run yet);
    ``breaches`` are the threshold rules breached now (the caller checks them); ``cpu_busy``
    (0-1, live) else the latest recorded point."""
    samples = list(snapshot.samples) if snapshot else []
    if breaches is None:
        breaches = []
    findings = sorted((f.to_dict() for f in (diagnosis.findings if diagnosis else [])),
                      key=lambda f: (SEVERITY_ORDER.index(f["severity"]), f["target"], f["check"], f["object"]))
    status = _StatusIndex(breaches)
    errors = [{"source": "collect", "target": e.get("target") or "", "what": e.get("collector") or "",
               "error": e.get("error", "")} for e in (snapshot.errors if snapshot else [])]
    errors += [{"source": "diagnose", "target": e.get("target") or "", "what": e.get("check") or "(connect)",
                "error": e.get("error", "")} for e in (diagnosis.errors if diagnosis else [])]
    unreachable = sorted(set(diagnosis.unreachable if diagnosis else [])
                         | {s.labels.get("database", "") for s in samples
                            if s.name == "l4agent_database_up" and s.value < 1})
    view = _Samples(samples)
    report = Report(
        host=host, generated_at=now, verdict=OK, reasons=[],
        layers=[_os_layer(view, status, host, history, now, cpu_busy), _network_layer(view, status),
                _database_layer(view, status, config), _app_layer(view, status)],
        filesystems=_filesystems(view),
        findings=findings, breaches=list(breaches),
        records=records.records, records_note=records.note,
        trends=_trends(history, view, now), forecasts=_forecasts(findings, history, now),
        top_queries=_top_queries(findings), errors=errors, unreachable=[u for u in unreachable if u],
        diagnostics_at=getattr(diagnosis, "started_at", None),
        history_note=None if history.available else "no history yet: l4agent serve records it in state_dir",
        config_path=config.path,
        coverage=list(getattr(diagnosis, "coverage", None) or []),
    )
    report.verdict, report.reasons = verdict(report)
    return report


def verdict(report: Report) -> tuple[str, list[str]]:
    """OK, warning or critical, and the reasons in a few words each (worst first)."""
    reasons: list[tuple[int, str]] = []
    counts = report.counts()
    for severity in ("critical", "warning"):
        if counts[severity]:
            reasons.append((VERDICT_RANK[severity], f"{counts[severity]} {severity} finding{_s(counts[severity])}"))
    for breach in report.breaches:
        reasons.append((VERDICT_RANK[breach.level], f"{breach.summary}: {breach.target} {breach.object} "
                                                    f"({breach.line})"))
    for target in report.unreachable:
        reasons.append((VERDICT_RANK[CRITICAL], f"{target} unreachable"))
    if report.records:
        reasons.append((VERDICT_RANK[WARNING], f"{len(report.records)} open work record{_s(len(report.records))}"))
    if report.errors:
        reasons.append((VERDICT_RANK[WARNING], f"{len(report.errors)} collection or check error{_s(len(report.errors))}"))
    if not reasons:
        return OK, ["no findings, no thresholds breached, no open work records"]
    worst = max(rank for rank, _ in reasons)
    texts = list(dict.fromkeys(text for _, text in sorted(reasons, key=lambda r: -r[0])))  # worst first, once each
    if len(texts) > MAX_REASONS:
        texts = texts[:MAX_REASONS] + [f"and {len(texts) - MAX_REASONS} more"]
    return VERDICTS[worst], texts


# ---------------------------------------------------------------------------------------------
# Layers


class _Samples:
    """Lookups over a snapshot's samples."""

    def __init__(self, samples: Sequence):
        self.by_name: dict[str, list] = defaultdict(list)
        for sample in samples:
            self.by_name[sample.name].append(sample)

    def all(self, name: str, **labels: str) -> list:
        return [s for s in self.by_name.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float | None:
        found = self.all(name, **labels)
        return found[0].value if found else None

    def total(self, name: str, **labels: str) -> float | None:
        found = self.all(name, **labels)
        return sum(s.value for s in found) if found else None

    def label_values(self, name: str, label: str) -> list[str]:
        return sorted({s.labels[label] for s in self.by_name.get(name, []) if label in s.labels})


class _StatusIndex:
    """The worst breach level of a series, looked up by metric and labels."""

    def __init__(self, breaches: Sequence[Breach]):
        self.breaches = breaches

    def of(self, metric: str, **labels: str) -> str | None:
        levels = [b.level for b in self.breaches
                  if b.metric == metric and all(b.labels.get(k) == v for k, v in labels.items())]
        if not levels:
            return None
        return max(levels, key=VERDICT_RANK.__getitem__)


def _os_layer(view: _Samples, status: _StatusIndex, host: str, history: HistoryView, now: float,
              cpu_busy: float | None) -> Layer:
    rows: list[Row] = [Row(["Host", host])]
    boot = view.value("l4agent_boot_time_seconds")
    if boot:
        rows.append(Row(["Up", f"{format_duration(now - boot)} (since {iso_epoch(boot)})"]))
    cpus = view.value("l4agent_cpus")
    if cpus is not None:
        rows.append(Row(["CPUs", f"{cpus:.0f}"]))
    if cpu_busy is None:
        recorded = history.points(sources.CPU_BUSY, {}, now - 900)
        cpu_busy = recorded[-1][1] if recorded else None
    if cpu_busy is not None:
        rows.append(Row(["CPU busy", _pct(cpu_busy)]))
    loads = [view.value(f"l4agent_load{n}") for n in (1, 5, 15)]
    if all(v is not None for v in loads):
        rows.append(Row(["Load 1 / 5 / 15 min", " / ".join(f"{v:.2f}" for v in loads)]))
    per_cpu = view.value("l4agent_load1_per_cpu")
    if per_cpu is not None:
        rows.append(Row(["Load per CPU", f"{per_cpu:.2f}"], status.of("l4agent_load1_per_cpu") or OK))
    available = view.value("l4agent_memory_available_ratio")
    total = view.value("l4agent_memory_bytes", kind="total")
    if available is not None and total:
        rows.append(Row(["Memory available", f"{_pct(available)} ({format_bytes(available * total)} of {format_bytes(total)})"],
                        status.of("l4agent_memory_available_ratio") or OK))
    swap_total = view.value("l4agent_swap_bytes", kind="total")
    swap = view.value("l4agent_swap_used_ratio")
    if swap is not None:
        text = f"{_pct(swap)} of {format_bytes(swap_total)}" if swap_total else "no swap"
        rows.append(Row(["Swap used", text], status.of("l4agent_swap_used_ratio") or OK))
    fds = view.value("l4agent_file_descriptors_used_ratio")
    if fds is not None:
        allocated, limit = view.value("l4agent_file_descriptors_allocated"), view.value("l4agent_file_descriptors_max")
        detail = f" ({allocated:,.0f} of {limit:,.0f})" if allocated is not None and limit else ""
        rows.append(Row(["File handles", _pct(fds) + detail], status.of("l4agent_file_descriptors_used_ratio") or OK))
    processes = view.total("l4agent_processes")
    if processes is not None:
        zombies = view.value("l4agent_processes", state="zombie") or 0
        rows.append(Row(["Processes", f"{processes:,.0f}" + (f" ({zombies:.0f} zombie)" if zombies else "")]))
    system = Table("System", ["", "now"], rows)

    fs_rows = []
    for sample in sorted(view.all("l4agent_filesystem_used_ratio"), key=lambda s: s.labels.get("mountpoint", "")):
        mountpoint = sample.labels.get("mountpoint", "")
        size = view.value("l4agent_filesystem_size_bytes", mountpoint=mountpoint)
        free = view.value("l4agent_filesystem_free_bytes", mountpoint=mountpoint)
        inodes = view.value("l4agent_filesystem_inodes_used_ratio", mountpoint=mountpoint)
        fs_rows.append(Row([mountpoint, sample.labels.get("device", ""), sample.labels.get("fstype", ""),
                            format_bytes(size) if size is not None else "", _pct(sample.value),
                            format_bytes(free) if free is not None else "", _pct(inodes) if inodes is not None else ""],
                           status.of("l4agent_filesystem_used_ratio", mountpoint=mountpoint) or OK))
    filesystems = Table("Filesystems", ["mountpoint", "device", "type", "size", "used", "free", "inodes used"], fs_rows,
                        None if fs_rows else "no filesystems collected")
    return Layer("OS", [system, filesystems])


def _network_layer(view: _Samples, status: _StatusIndex) -> Layer:
    rows = []
    for interface in view.label_values("l4agent_network_bytes_total", "interface"):
        up = view.value("l4agent_network_up", interface=interface)
        errors = (view.total("l4agent_network_errors_total", interface=interface) or 0)
        rows.append(Row([interface, "up" if up else "down" if up is not None else "",
                         format_bytes(view.value("l4agent_network_bytes_total", interface=interface, direction="receive") or 0),
                         format_bytes(view.value("l4agent_network_bytes_total", interface=interface, direction="transmit") or 0),
                         f"{errors:,.0f}"],
                        WARNING if errors else OK if up else None))  # a down, unused interface is normal
    interfaces = Table("Interfaces (since boot)", ["interface", "link", "received", "sent", "errors"], rows)
    states = [(s.labels.get("state", ""), s.value) for s in view.all("l4agent_tcp_connections") if s.value]
    tcp = Table("TCP sockets", ["state", "sockets"], [Row([state, f"{count:,.0f}"]) for state, count in sorted(states)],
                None if states else "none")
    probes = []
    for probe in view.label_values("l4agent_probe_success", "probe"):
        ok = view.value("l4agent_probe_success", probe=probe)
        seconds = view.value("l4agent_probe_duration_seconds", probe=probe)
        reasons = [s.labels.get("reason", "") for s in view.all("l4agent_probe_failure_info")
                   if s.labels.get("probe") == probe]
        result = "ok" if ok else f"failed: {reasons[0]}" if reasons else "failed"
        probes.append(Row([probe, result, f"{seconds * 1000:.1f} ms" if seconds is not None else ""],
                          OK if ok else CRITICAL))
    layer = Layer("Network", [interfaces, tcp])
    if probes:
        layer.tables.append(Table("Probes", ["probe", "result", "time"], probes))
    return layer


def _database_layer(view: _Samples, status: _StatusIndex, config: Config) -> Layer:
    rows = []
    names = sorted(set(view.label_values("l4agent_database_up", "database")) | {db.name for db in config.databases})
    for name in names:
        up = view.value("l4agent_database_up", database=name)
        engine = next((db.engine for db in config.databases if db.name == name), "")
        size = view.total("l4agent_database_size_bytes", database=name)
        cache = view.value("l4agent_database_cache_hit_ratio", database=name)
        sessions = view.total("l4agent_database_sessions", database=name)
        blocked = view.value("l4agent_database_blocked_sessions", database=name)
        state = "up" if up else "down" if up is not None else "not collected"
        level = status.of("l4agent_database_up", database=name) or status.of("l4agent_database_blocked_sessions", database=name)
        rows.append(Row([name, engine, state, _num(sessions), _num(blocked),
                         _pct(cache) if cache is not None else "", format_bytes(size) if size is not None else ""],
                        level or (OK if up else CRITICAL if up is not None else None)))
    targets = Table("Targets", ["database", "engine", "status", "sessions", "blocked", "cache hit", "size"], rows,
                    None if rows else "no [[databases]] configured")
    layer = Layer("Database", [targets])
    backups = []
    for sample in sorted(view.all("l4agent_backup_age_seconds"),
                         key=lambda s: (s.labels.get("database", ""), s.labels.get("catalog", ""), s.labels.get("type", ""))):
        database = sample.labels.get("database", "")
        target = config.database(database)
        rpo = target.rpo if target else 86400.0
        judged = sample.labels.get("type") in ("full", "full_or_diff", "file")
        level = (CRITICAL if sample.value > 2 * rpo else WARNING if sample.value > rpo else OK) if judged else None
        backups.append(Row([database, sample.labels.get("catalog", ""), sample.labels.get("type", ""),
                            format_duration(sample.value), format_duration(rpo) if judged else ""], level))
    for sample in view.all("l4agent_backup_missing"):
        if sample.value:
            backups.append(Row([sample.labels.get("database", ""), sample.labels.get("catalog", ""), "full", "never", ""],
                               CRITICAL))
    if backups:
        layer.tables.append(Table("Newest backups", ["database", "catalog", "type", "age", "rpo"], backups))
    return layer


def _app_layer(view: _Samples, status: _StatusIndex) -> Layer:
    rows = []
    for name in view.label_values("l4agent_appserver_up", "appserver"):
        up = view.value("l4agent_appserver_up", appserver=name)
        http = view.value("l4agent_appserver_http_status", appserver=name)
        seconds = view.value("l4agent_appserver_response_seconds", appserver=name)
        expiry = view.value("l4agent_appserver_tls_expiry_seconds", appserver=name)
        resident = view.value("l4agent_process_resident_bytes", group=name)
        level = status.of("l4agent_appserver_up", appserver=name) or status.of("l4agent_appserver_tls_expiry_seconds",
                                                                                appserver=name)
        rows.append(Row([name, "up" if up else "down", f"{http:.0f}" if http else "",
                         f"{seconds * 1000:.0f} ms" if seconds is not None else "",
                         format_duration(expiry) if expiry is not None else "",
                         format_bytes(resident) if resident is not None else ""],
                        level or (OK if up else CRITICAL)))
    return Layer("App server", [Table("App servers", ["app server", "status", "HTTP", "response", "TLS expires in",
                                                      "memory"], rows, None if rows else "no [[appservers]] configured")])


def _filesystems(view: _Samples) -> list[tuple[str, float, str]]:
    out = []
    for sample in sorted(view.all("l4agent_filesystem_used_ratio"), key=lambda s: s.labels.get("mountpoint", "")):
        mountpoint = sample.labels.get("mountpoint", "")
        size = view.value("l4agent_filesystem_size_bytes", mountpoint=mountpoint)
        free = view.value("l4agent_filesystem_free_bytes", mountpoint=mountpoint)
        detail = f"{format_bytes(free)} free of {format_bytes(size)}" if size is not None and free is not None else ""
        out.append((mountpoint, sample.value, detail))
    return out


# ---------------------------------------------------------------------------------------------
# Charts' data


def _trends(history: HistoryView, view: _Samples, now: float) -> list[Trend]:
    since = now - HISTORY_WINDOW
    trends = [Trend("CPU busy", "ratio", history.points(sources.CPU_BUSY, {}, since)),
              Trend("Memory available", "ratio", history.points(sources.MEMORY_AVAILABLE, {}, since))]
    mountpoints = sorted(view.all("l4agent_filesystem_used_ratio"), key=lambda s: -s.value)[:MAX_SPARK_FILESYSTEMS]
    for sample in mountpoints:
        mountpoint = sample.labels.get("mountpoint", "")
        trends.append(Trend(f"Disk used {mountpoint}", "ratio", sources.used_ratio_series(history, mountpoint, since)))
    for database in view.label_values("l4agent_database_up", "database"):
        points = sources.summed_series(history, sources.DB_SIZE, {"database": database}, since)
        if points:
            trends.append(Trend(f"Database size {database}", "bytes", points))
    return trends


def _forecasts(findings: Sequence[dict[str, Any]], history: HistoryView, now: float) -> list[DiskForecast]:
    out = []
    for finding in findings:
        if finding["check"] != "capacity.disk_full_forecast":
            continue
        evidence = finding.get("evidence", {})
        try:
            size = float(evidence["size_bytes"])
            free = float(evidence["free_bytes"])
            days = float(evidence["days_until_full"])
        except (KeyError, TypeError, ValueError):
            continue
        mountpoint = str(evidence.get("mountpoint") or finding["object"])
        out.append(DiskForecast(mountpoint, finding["summary"], finding["severity"], size, size - free,
                                now + days * 86400.0, days,
                                history.points(sources.FS_USED, {"mountpoint": mountpoint}, now - FORECAST_WINDOW)))
    return sorted(out, key=lambda f: f.days)


def _top_queries(findings: Sequence[dict[str, Any]]) -> list[TopQuery]:
    out = []
    for finding in findings:
        if finding["check"] != "perf.top_query":
            continue
        evidence = finding.get("evidence", {})
        try:
            total_ms = float(evidence["total_ms"])
        except (KeyError, TypeError, ValueError):
            continue
        out.append(TopQuery(finding["target"], str(evidence.get("catalog") or ""), str(evidence.get("query") or finding["object"]),
                            total_ms / 1000.0, float(evidence.get("calls") or 0), float(evidence.get("mean_ms") or 0)))
    return sorted(out, key=lambda q: -q.total_seconds)[:TOP_QUERIES]


# ---------------------------------------------------------------------------------------------
# Small formatting helpers


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


# -- work records as the renderings show them ---------------------------------------------------

VERDICT_TEXT = {OK: "OK", WARNING: "Warning", CRITICAL: "Critical"}


def past_sla(record: dict[str, Any], now: float) -> bool:
    """Whether an open record's SLA due time (``sla_due_at``) lies before ``now`` (epoch seconds)."""
    due = record.get("sla_due_at")
    if not due:
        return False
    try:
        return dt.datetime.strptime(due, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp() < now
    except ValueError:
        return False


def record_where(record: dict[str, Any]) -> str:
    related = record.get("related") or {}
    return " · ".join(str(record.get(k) or related.get(k)) for k in ("target", "object")
                      if record.get(k) or related.get(k))


def record_problem(record: dict[str, Any]) -> str:
    return record.get("title") or next(iter(record.get("problems") or []), "")
