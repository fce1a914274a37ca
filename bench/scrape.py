"""Scrape cost: ``l4agent serve`` against Debian's prometheus-node-exporter on the same host in
the same run, scraped interleaved (A B A B) over one keep-alive connection each.

Per target: /metrics latency (median, p95, min-max over N scrapes), CPU seconds per scrape
(utime+stime deltas of the process from /proc/<pid>/stat over the whole run, divided by N),
resident memory after warm-up, series and bytes per scrape; and the ratio l4agent /
node_exporter of each.

The two do different work per scrape: node_exporter collects on every scrape, l4agent
collects once per interval and a scrape serves the stored snapshot. So l4agent runs here with
a long interval (no collection falls inside the measured run) and its collection round is
measured on its own (a second ``serve`` at a 1s interval, CPU per round); "per interval"
adds the two, which is what one Prometheus scrape per collection interval costs. Both wait
for serve's start-up diagnostics run (a few seconds after start, then hourly) to end first.
"""

from __future__ import annotations

import time

from bench.common import (
    FIRST_DIAGNOSTICS,
    Report,
    Scraper,
    ServeProcess,
    Skip,
    cpu_seconds,
    mib,
    ms,
    ratio,
    rss_bytes,
    series_count,
    summary,
)

TARGET_LATENCY_RATIO = 1.0


def _node_exporter():
    try:
        from tests.support.promtools import NodeExporter

        return NodeExporter()
    except (FileNotFoundError, RuntimeError) as exc:
        raise Skip(f"node_exporter cannot run here: {exc} (apt-get install prometheus-node-exporter)") from exc


def _collections(scraper: Scraper) -> float:
    _, body = scraper.scrape()
    for line in body.splitlines():
        if line.startswith(b"l4agent_collections_total "):
            return float(line.split()[1])
    raise RuntimeError("no l4agent_collections_total in the exposition")


def collection_round_cpu(seconds: float) -> dict:
    """CPU seconds per collection round of a real ``serve`` at a 1s interval (no scrapes but
    one at each end to count the rounds)."""
    with ServeProcess(interval="1s") as agent:
        agent.wait_for_metric(FIRST_DIAGNOSTICS)  # its start-up diagnostics run is not a round
        scraper = Scraper(agent.url)
        time.sleep(1.5)
        rounds_before, cpu_before = _collections(scraper), cpu_seconds(agent.pid)
        time.sleep(seconds)
        cpu_after, rounds_after = cpu_seconds(agent.pid), _collections(scraper)
        scraper.close()
    rounds = rounds_after - rounds_before
    return {"rounds": rounds, "cpu_seconds_per_round": (cpu_after - cpu_before) / rounds if rounds else None}


def run(quick: bool) -> Report:
    report = Report("scrape", quick)
    scrapes = 60 if quick else 300
    warmup = 10 if quick else 30
    exporter = _node_exporter()
    try:
        with ServeProcess(interval="1h") as agent:
            agent.wait_for_metric(FIRST_DIAGNOSTICS)
            targets = {"l4agent": (Scraper(agent.url), agent.pid), "node_exporter": (Scraper(exporter.url), exporter.pid)}
            for _ in range(warmup):
                for scraper, _pid in targets.values():
                    scraper.scrape()
            rss = {name: rss_bytes(pid) for name, (_, pid) in targets.items()}
            latencies: dict[str, list[float]] = {name: [] for name in targets}
            cpu_before = {name: cpu_seconds(pid) for name, (_, pid) in targets.items()}
            bodies: dict[str, bytes] = {}
            for index in range(scrapes):
                order = list(targets) if index % 2 == 0 else list(reversed(targets))  # A B, B A: no fixed second place
                for name in order:
                    elapsed, bodies[name] = targets[name][0].scrape()
                    latencies[name].append(elapsed)
            cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / scrapes for name, (_, pid) in targets.items()}
            rss_after = {name: rss_bytes(pid) for name, (_, pid) in targets.items()}
            for scraper, _pid in targets.values():
                scraper.close()
    finally:
        exporter.close()
    round_cost = collection_round_cpu(8 if quick else 30)

    figures = {}
    for name in targets:
        figures[name] = {
            "latency_seconds": summary(latencies[name]),
            "cpu_seconds_per_scrape": cpu[name],
            "rss_bytes_after_warmup": rss[name],
            "rss_bytes_after_run": rss_after[name],
            "series": series_count(bodies[name]),
            "bytes": len(bodies[name]),
        }
    agent_figures, exporter_figures = figures["l4agent"], figures["node_exporter"]
    per_round = round_cost["cpu_seconds_per_round"]
    agent_figures["cpu_seconds_per_collection_round"] = per_round
    agent_figures["cpu_seconds_per_interval"] = (cpu["l4agent"] + per_round) if per_round is not None else None
    report.data = {"scrapes": scrapes, "warmup": warmup, "targets": figures, "collection_rounds": round_cost}

    def row(label: str, key: str, fmt) -> list[str]:
        a, b = agent_figures.get(key), exporter_figures.get(key)
        return [label, fmt(a), fmt(b), ratio(a, b)]

    lat_a, lat_b = agent_figures["latency_seconds"], exporter_figures["latency_seconds"]
    rows = [
        ["/metrics latency median (ms)", ms(lat_a["median"], 3), ms(lat_b["median"], 3), ratio(lat_a["median"], lat_b["median"])],
        ["/metrics latency p95 (ms)", ms(lat_a["p95"], 3), ms(lat_b["p95"], 3), ratio(lat_a["p95"], lat_b["p95"])],
        ["/metrics latency min-max (ms)", f"{ms(lat_a['min'], 3)}-{ms(lat_a['max'], 1)}",
         f"{ms(lat_b['min'], 3)}-{ms(lat_b['max'], 1)}", "-"],
        row("CPU per scrape (ms)", "cpu_seconds_per_scrape", lambda v: ms(v, 3)),
        ["CPU per collection round (ms)", ms(per_round, 2), "(in scrape)", "-"],
        ["CPU per interval: round + scrape (ms)", ms(agent_figures["cpu_seconds_per_interval"], 2),
         ms(exporter_figures["cpu_seconds_per_scrape"], 3),
         ratio(agent_figures["cpu_seconds_per_interval"], exporter_figures["cpu_seconds_per_scrape"])],
        row("RSS after warm-up (MiB)", "rss_bytes_after_warmup", mib),
        row(f"RSS after {scrapes} scrapes (MiB)", "rss_bytes_after_run", mib),
        row("series", "series", str),
        row("bytes per scrape", "bytes", str),
    ]
    report.table(f"Scrape cost, l4agent serve vs node_exporter (interleaved, N={scrapes} scrapes each after "
                 f"{warmup} warm-up)", ["figure", "l4agent", "node_exporter", "ratio"], rows,
                 notes=[f"collection round: {round_cost['rounds']:.0f} rounds of serve at a 1s interval, CPU/round"])
    verdict = "met" if lat_a["median"] <= lat_b["median"] * TARGET_LATENCY_RATIO else "MISSED"
    report.notes.append(f"target /metrics median <= node_exporter's: {verdict} "
                        f"({ms(lat_a['median'], 3)} ms vs {ms(lat_b['median'], 3)} ms)")
    return report
