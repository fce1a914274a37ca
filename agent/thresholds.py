"""Threshold rules: which series or findings are in breach, how badly, and for how long.

A rule (``[[thresholds]]``, or one of :data:`BUILTIN_RULES`) watches either an exported metric
(``metric`` + ``labels``) or a diagnostic check (``check``). Each matching series or finding
is a *reading* with a level: ``critical``, ``warning``, or None (clean). Levels use hysteresis:
once breached, a series stays breached until it is ``recovery_margin`` back past the line, so a
value hovering at the line does not flap. A series with no sample this round is *unknown*,
never clean: only a clean reading recovers a breach.

A breach counts only when it has held at every evaluation for ``for``: :func:`advance` keeps
that timer per series (stored by the record engine, so it resumes after a restart).

This module is pure logic; the record engine (``agent.records.engine``) stores the timers and
turns breaches into work records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from l4agent.core.config import Config, ThresholdConfig

DAY = 86400.0

# Built-in rules every server gets; a [[thresholds]] entry with the same name overrides any of
# their keys (``enabled = false`` switches one off).
BUILTIN_RULES: dict[str, ThresholdConfig] = {
    rule.name: rule
    for rule in (
        ThresholdConfig(
            name="disk-used", metric="l4agent_filesystem_used_ratio", warning=0.90, critical=0.95,
            for_seconds=1800.0, recovery_margin=0.01, summary="disk space used",
            recommendation="Free space on the filesystem (old backups, logs, temp files) or grow it. "
                           "Check what grew with du -xh --max-depth=2 on the mountpoint."),
        ThresholdConfig(
            # The check reports 30 days ahead; critical means full within its critical_within (7d).
            name="disk-full-forecast", check="capacity.disk_full_forecast", labels={"severity": "critical"},
            summary="disk predicted to fill up within days"),
        ThresholdConfig(
            name="memory-available", metric="l4agent_memory_available_ratio", direction="below",
            warning=0.10, critical=0.05, for_seconds=300.0, recovery_margin=0.02, summary="available memory",
            recommendation="Find the processes holding memory (app server heap, database buffer pool) "
                           "and cap them, or add memory."),
        ThresholdConfig(
            name="swap-used", metric="l4agent_swap_used_ratio", warning=0.50, for_seconds=600.0,
            recovery_margin=0.05, summary="swap in use",
            recommendation="The host is short of memory: find what is swapped out and cap the "
                           "database or app server memory settings, or add memory."),
        ThresholdConfig(
            name="load-per-core", metric="l4agent_load1_per_cpu", warning=2.0, critical=4.0,
            for_seconds=900.0, recovery_margin=0.2, summary="load per CPU core",
            recommendation="Find the busiest processes and the top queries (l4agent diagnose --check perf). "
                           "Add CPUs if the load is legitimate."),
        ThresholdConfig(
            name="file-descriptors", metric="l4agent_file_descriptors_used_ratio", warning=0.90,
            critical=0.95, for_seconds=300.0, recovery_margin=0.02, summary="file handles in use",
            recommendation="Find the process leaking file handles (lsof | awk '{print $1}' | sort | uniq -c). "
                           "Raise fs.file-max only once the leak is understood."),
        ThresholdConfig(
            name="database-down", metric="l4agent_database_up", direction="below", critical=1.0,
            for_seconds=120.0, summary="database unreachable",
            recommendation="Check the database service, its log and the network path to it. "
                           "The agent's error is in l4agent collect --format table."),
        ThresholdConfig(
            name="blocked-sessions", metric="l4agent_database_blocked_sessions", warning=0.0,
            for_seconds=300.0, summary="sessions blocked by locks",
            recommendation="Find the head blocker (l4agent diagnose --check perf.blocking). "
                           "Fix or shorten the transaction that holds the locks."),
        ThresholdConfig(
            name="backup-stale", check="backup.stale", summary="newest full backup older than the RPO"),
        # Backups of every engine (issue 15): SQL Server's history is backup.stale; PostgreSQL and
        # MariaDB are judged by their dump folders (file age against the rpo), a catalog with no
        # backup at all, and a failing WAL archive.
        ThresholdConfig(name="backup-dir-stale", check="backup.dir_stale",
                        summary="newest backup file older than the RPO"),
        ThresholdConfig(name="backup-never", check="backup.never", summary="database never backed up"),
        ThresholdConfig(name="backup-archive-failing", check="backup.archive_failing",
                        summary="WAL archiving failing"),
        ThresholdConfig(
            name="appserver-down", metric="l4agent_appserver_up", direction="below", critical=1.0,
            for_seconds=120.0, summary="app server not answering",
            recommendation="Check the app server process, its log and the URL the agent probes."),
        ThresholdConfig(
            name="tls-expiry", metric="l4agent_appserver_tls_expiry_seconds", direction="below",
            warning=14 * DAY, critical=3 * DAY, summary="TLS certificate expiring",
            recommendation="Renew the certificate and reload the web server."),
        # The app tier's own checks (diagnostics/app/): each finding opens a record at its severity.
        ThresholdConfig(name="app-slow-response", check="app.slow_response", summary="app server answers slowly"),
        ThresholdConfig(name="app-error-rate", check="app.error_rate", summary="app server failing requests"),
        ThresholdConfig(name="app-tls-chain", check="app.tls_chain", summary="app server certificate does not verify"),
        ThresholdConfig(name="app-thread-pool", check="app.thread_pool_saturation",
                        summary="app server thread pool saturated"),
        ThresholdConfig(name="app-heap-pressure", check="app.heap_pressure", summary="app server JVM heap full"),
        # Outage signals (issue 19): replication, wraparound, exhaustion, connections, CHECKDB.
        ThresholdConfig(
            name="replica-stopped", metric="l4agent_database_replica_running", direction="below", critical=1.0,
            for_seconds=120.0, summary="replication thread not running",
            recommendation="l4agent diagnose --check replication.broken shows the thread's last error; "
                           "fix it, then START SLAVE."),
        ThresholdConfig(name="replication-broken", check="replication.broken", summary="replica not replicating"),
        ThresholdConfig(
            name="replication-lag", metric="l4agent_database_replication_lag_seconds", warning=300.0,
            critical=1800.0, for_seconds=300.0, recovery_margin=30.0, summary="replica behind its primary",
            recommendation="Find what slows the replica (long queries on it, I/O, one big transaction)."),
        ThresholdConfig(
            name="slot-retention", metric="l4agent_database_replication_slot_retained_bytes",
            warning=float(1 << 30), critical=float(10 << 30), for_seconds=600.0,
            summary="replication slot keeping WAL on disk",
            recommendation="l4agent diagnose --check replication.slot_retention; drop a slot whose consumer "
                           "is gone (pg_drop_replication_slot)."),
        ThresholdConfig(name="slot-inactive", check="replication.slot_retention",
                        summary="replication slot inactive or retaining WAL"),
        ThresholdConfig(
            name="xid-wraparound", metric="l4agent_database_xid_age", warning=500_000_000.0,
            critical=1_200_000_000.0, for_seconds=600.0, summary="transaction-ID age heading for wraparound",
            recommendation="l4agent diagnose --check capacity.xid_wraparound names the tables; VACUUM (FREEZE) "
                           "them and remove what holds the xmin horizon."),
        ThresholdConfig(
            name="multixact-wraparound", metric="l4agent_database_multixact_age", warning=500_000_000.0,
            critical=1_200_000_000.0, for_seconds=600.0, summary="multixact age heading for wraparound",
            recommendation="l4agent diagnose --check capacity.xid_wraparound names the tables; VACUUM (FREEZE) "
                           "them."),
        ThresholdConfig(
            name="identity-exhaustion", metric="l4agent_database_identity_usage_ratio", warning=0.80,
            critical=0.95, for_seconds=600.0, recovery_margin=0.01, summary="key counter close to its type's end",
            recommendation="l4agent diagnose --check capacity.identity_exhaustion gives the column and the "
                           "ALTER that widens it."),
        ThresholdConfig(name="connection-saturation", check="config.connections",
                        summary="connections close to the server's limit"),
        ThresholdConfig(
            name="checkdb-age", metric="l4agent_database_last_checkdb_age_seconds", warning=7 * DAY,
            critical=30 * DAY, for_seconds=3600.0, summary="no clean DBCC CHECKDB recently",
            recommendation="Schedule DBCC CHECKDB weekly (l4agent diagnose --check integrity.checkdb_age)."),
    )
}

# Labels that say *where* (the record's target); the first one a series has wins.
TARGET_LABELS = ("database", "appserver", "probe", "group")
# Labels that describe a series rather than identify it: left out of the record's object.
DESCRIPTIVE_LABELS = frozenset({"fstype", "device", "engine", "kind"})


def effective_rules(config: Config) -> list[ThresholdConfig]:
    """The built-in rules not overridden by name, then the configured ones; disabled ones dropped."""
    configured = {rule.name for rule in config.thresholds}
    rules = [rule for name, rule in BUILTIN_RULES.items() if name not in configured]
    rules.extend(config.thresholds)
    return [rule for rule in rules if rule.enabled]


# ---------------------------------------------------------------------------------------------
# Readings


@dataclass(frozen=True)
class Reading:
    """One series (or one finding) of one rule, this round. ``level`` None means clean."""

    rule: ThresholdConfig
    target: str
    object: str
    level: str | None
    value: float | None = None
    labels: dict | None = None
    finding: object | None = None  # diagnostics.base.Finding for check rules

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule.name, self.target, self.object)


def fingerprint(rule: str, target: str, obj: str) -> str:
    """What makes two breaches the same problem: rule/check + target + object."""
    return f"{rule}|{target}|{obj}"


def series_target(labels: dict[str, str], host: str) -> tuple[str, str | None]:
    """(target, the label it came from): the database/app server/probe, else the host."""
    for label in TARGET_LABELS:
        if labels.get(label):
            return labels[label], label
    return host, None


def series_object(metric: str, labels: dict[str, str], target_label: str | None) -> str:
    """The object a series is about: a mountpoint's path, else metric{identifying labels}."""
    rest = {k: v for k, v in labels.items() if k != target_label and k not in DESCRIPTIVE_LABELS}
    if set(rest) == {"mountpoint"}:
        return rest["mountpoint"]
    if not rest:
        return metric
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(rest.items())) + "}"


def classify(rule: ThresholdConfig, value: float, previous: str | None) -> str | None:
    """The level ``value`` breaches, given the level breached last round (for hysteresis).

    ``above``: breached when value > level; once breached, until value <= level - margin.
    ``below``: the mirror image.
    """
    sign = 1.0 if rule.direction == "above" else -1.0
    margin = rule.recovery_margin or 0.0

    def beyond(line: float | None, was_beyond: bool) -> bool:
        if line is None:
            return False
        effective = line - sign * margin if was_beyond else line
        return sign * (value - effective) > 0

    if beyond(rule.critical, previous == "critical"):
        return "critical"
    if beyond(rule.warning, previous in ("warning", "critical")):
        return "warning"
    return None


def metric_readings(rule: ThresholdConfig, samples: Iterable, host: str,
                    previous: dict[str, str | None]) -> list[Reading]:
    """Readings of a metric rule from this round's samples; ``previous`` maps fingerprint ->
    the level breached last round. Series without a sample are not returned (unknown)."""
    readings = []
    for sample in samples:
        if sample.name != rule.metric or any(sample.labels.get(k) != v for k, v in rule.labels.items()):
            continue
        if sample.value is None or math.isnan(sample.value):
            continue  # no value is no data: unknown
        target, target_label = series_target(sample.labels, host)
        obj = series_object(rule.metric, sample.labels, target_label)
        fp = fingerprint(rule.name, target, obj)
        level = classify(rule, sample.value, previous.get(fp))
        readings.append(Reading(rule, target, obj, level, sample.value, dict(sample.labels)))
    return readings


def finding_readings(rule: ThresholdConfig, findings: Iterable) -> list[Reading]:
    """Readings of a check rule: one per finding of that check (label matchers apply to the
    finding's target, object and severity). ``info`` findings are not a breach."""
    readings = []
    for finding in findings:
        if finding.check != rule.check:
            continue
        fields = {"target": finding.target, "object": finding.object, "severity": finding.severity}
        if any(fields.get(k) != v for k, v in rule.labels.items()):
            continue
        level = finding.severity if finding.severity in ("warning", "critical") else None
        if level is not None:
            readings.append(Reading(rule, finding.target, finding.object, level, finding=finding))
    return readings


# ---------------------------------------------------------------------------------------------
# The "for" timer


@dataclass(frozen=True)
class Timer:
    """How long a series has been in breach; epoch seconds. ``level`` is last round's level."""

    level: str
    since: float
    critical_since: float | None
    last_eval_at: float


def advance(timer: Timer | None, level: str | None, now: float, rule: ThresholdConfig,
            max_gap: float) -> tuple[Timer | None, str | None]:
    """Step a series' timer by one evaluation -> (new timer, severity in effect or None).

    The breach must hold at every evaluation: a clean reading ends the timer, and so does a gap
    longer than ``max_gap`` since the last evaluation (the agent was down, so nobody saw it hold).
    The severity in effect is ``critical`` once critical held for ``for``, else ``warning`` once
    any breach held for ``for``; until then the breach is pending (None).
    """
    if level is None:
        return None, None
    if timer is not None and now < timer.last_eval_at:
        # The wall clock went back (an NTP step, a hand-set date): move the timer back with it,
        # so the breach keeps the time it has held instead of waiting for the clock to catch up.
        back = timer.last_eval_at - now
        timer = Timer(timer.level, timer.since - back,
                      None if timer.critical_since is None else timer.critical_since - back, now)
    fresh = timer is None or now - timer.last_eval_at > max_gap
    since = now if fresh else timer.since
    if level == "critical":
        critical_since = now if fresh or timer.critical_since is None else timer.critical_since
    else:
        critical_since = None
    timer = Timer(level, since, critical_since, now)
    return timer, in_effect(timer, rule, now)


def in_effect(timer: Timer, rule: ThresholdConfig, now: float) -> str | None:
    """The severity a timer has earned at ``now`` (None while still pending)."""
    def held(start: float | None) -> bool:
        return start is not None and now - start >= rule.for_seconds

    if timer.level == "critical" and held(timer.critical_since):
        return "critical"
    if held(timer.since) and (rule.warning is not None or rule.check is not None):
        return "warning"
    return None


def describe_level(rule: ThresholdConfig, severity: str) -> str:
    """ "critical above 0.95" — the line a severity stands for."""
    line = rule.critical if severity == "critical" else rule.warning
    if line is None:
        return severity
    from l4agent.core.units import format_value

    return f"{severity} {rule.direction} {format_value(rule.metric or '', line)}"
