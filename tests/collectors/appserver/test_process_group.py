"""The process group against real child processes started by the test."""

from __future__ import annotations

import getpass
import subprocess
import sys
import uuid

import psutil
import pytest

from l4agent.collectors.appserver.process_group import ProcessGroup, ProcessMatcher, read_group
from l4agent.core.samples import Problem, Sample

# Each child: 2 extra threads, ~32 MiB touched, one listening TCP socket; says "ready" when set.
CHILD = """
import socket, sys, threading, time
ballast = bytearray(32 * 1024 * 1024)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
for _ in range(2):
    threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print("ready", flush=True)
time.sleep(600)
"""
NAME = r"python[0-9.]*"


class Children:
    """Child processes tagged with a token unique to the test (matched by process_cmdline)."""

    def __init__(self) -> None:
        self.token = f"l4agent-appserver-test-{uuid.uuid4().hex[:10]}"
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, self.token], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        proc.kill()
        proc.wait()
        self.procs.remove(proc)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


@pytest.fixture
def children():
    kids = Children()
    yield kids
    kids.close()


def test_count_memory_threads_files_and_sockets_of_the_group(children):
    for _ in range(3):
        children.start()
    reading = read_group(ProcessMatcher(NAME, cmdline=children.token))
    members = [psutil.Process(p.pid) for p in children.procs]

    assert reading.count == 3
    assert reading.threads == 9  # main + 2 per child
    assert reading.resident_bytes >= 3 * 32 * 1024 * 1024
    assert reading.resident_bytes == pytest.approx(sum(m.memory_info().rss for m in members), rel=0.05)
    assert reading.open_files >= 3 * 4  # stdin/out/err + the listener each
    assert reading.connections["listen"] == 3
    assert reading.oldest == (children.procs[0].pid, members[0].create_time())
    assert reading.cpu_user + reading.cpu_system > 0


def test_a_large_group_reads_the_host_socket_table_once_with_the_same_result(children, monkeypatch):
    from l4agent.collectors.appserver import process_group

    for _ in range(2):
        children.start()
    per_process = read_group(ProcessMatcher(NAME, cmdline=children.token)).connections
    monkeypatch.setattr(process_group, "PER_PROCESS_SOCKET_READS", 0)
    host_wide = read_group(ProcessMatcher(NAME, cmdline=children.token)).connections
    assert per_process == host_wide == {"listen": 2}


def test_user_and_cmdline_filters(children):
    children.start()
    assert read_group(ProcessMatcher(NAME, user=getpass.getuser(), cmdline=children.token)).count == 1
    assert read_group(ProcessMatcher(NAME, user="no-such-user-l4", cmdline=children.token)).count == 0
    assert read_group(ProcessMatcher(NAME, cmdline=children.token + "-other")).count == 0
    assert read_group(ProcessMatcher("java", cmdline=children.token)).count == 0


def test_a_killed_and_restarted_app_server_is_counted_as_a_restart(children):
    first = children.start()
    children.start()
    group = ProcessGroup("erp", ProcessMatcher(NAME, cmdline=children.token))
    assert group.read().count == 2
    assert group.read().oldest[0] == first.pid
    assert group.restarts == 0

    children.kill(first)  # the oldest member (the JVM) dies ...
    children.start()      # ... and the service manager starts it again
    reading = group.read()
    assert reading.count == 2
    assert reading.oldest[0] != first.pid
    assert group.restarts == 1
    group.read()
    assert group.restarts == 1  # unchanged group, no new restart


def test_an_absent_group_is_data_and_a_clear_problem_and_its_return_a_restart(children):
    first = children.start()
    group = ProcessGroup("erp", ProcessMatcher(NAME, cmdline=children.token))
    group.read()
    children.kill(first)
    items = list(group.collect())
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in items if isinstance(s, Sample)}
    problems = [p.message for p in items if isinstance(p, Problem)]
    assert samples[("l4agent_process_members", (("group", "erp"),))] == 0
    assert samples[("l4agent_process_connections", (("group", "erp"), ("state", "established")))] == 0
    assert problems == [f"no process matches process = {NAME}, process_cmdline = {children.token}"]

    children.start()
    items = list(group.collect())
    restarts = [s for s in items if isinstance(s, Sample) and s.name == "l4agent_appserver_restarts_total"]
    assert [(s.labels, s.value) for s in restarts] == [({"appserver": "erp"}, 1.0)]
    uptime = next(s for s in items if isinstance(s, Sample) and s.name == "l4agent_process_uptime_seconds")
    assert 0 <= uptime.value < 30


def test_name_is_matched_exactly_or_as_a_whole_regex():
    proc = psutil.Process()

    def named(name: str) -> psutil.Process:
        proc.info = {"name": name}
        return proc

    assert ProcessMatcher("java").matches(named("java"))
    assert not ProcessMatcher("java").matches(named("javaw"))
    assert ProcessMatcher("java|coldfusion").matches(named("coldfusion"))
    assert ProcessMatcher("w3wp[").matches(named("w3wp["))  # not a valid regex: a plain name
    assert not ProcessMatcher("w3wp[").matches(named("w3wp"))
