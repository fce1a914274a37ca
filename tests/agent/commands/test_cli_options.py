"""Command-line conventions every command shares (issue 21): ``-c/--config`` before or after
the subcommand, and ``hash-password`` reading a pipe without prompts or warnings."""

from __future__ import annotations

import json

import bcrypt

PROBE_CONFIG = """
[[probes]]
name = "before-or-after"
tcp = "127.0.0.1:{port}"
timeout = "1s"
"""


def _probe_names(stdout: str) -> set[str]:
    return {s["labels"].get("probe") for s in json.loads(stdout)["samples"] if "probe" in s["labels"]}


def test_config_before_the_subcommand_is_the_same_as_after(run_cli, write_config, port):
    path = write_config(PROBE_CONFIG.format(port=port))
    before = run_cli("-c", path, "collect", "--collector", "probe", "--format", "json")
    after = run_cli("collect", "--collector", "probe", "--format", "json", "-c", path)
    assert "No such option" not in before.stderr
    assert _probe_names(before.stdout) == _probe_names(after.stdout) == {"before-or-after"}
    assert before.returncode == after.returncode


def test_config_before_a_nested_subcommand_and_long_form(run_cli, write_config):
    path = write_config('[agent]\ninterval = "30s"\n')
    for args in (("-c", path, "config", "check"), ("--config", path, "config", "check"),
                 ("config", "check", "-c", path)):
        proc = run_cli(*args)
        assert proc.returncode == 0, (args, proc.stderr)
        assert proc.stdout.startswith(f"config ok: {path}"), args


def test_bad_config_before_the_subcommand_is_a_config_error(run_cli, write_config):
    path = write_config('[agent]\ninterval = "soon"\n')
    proc = run_cli("-c", path, "config", "check")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"config error: {path}: agent.interval")


def test_two_different_config_files_are_refused(run_cli, write_config):
    first, second = write_config("[agent]\n"), write_config("[agent]\n")
    proc = run_cli("-c", first, "config", "check", "-c", second)
    assert proc.returncode == 2
    assert "given twice" in proc.stderr and first in proc.stderr and second in proc.stderr
    same = run_cli("-c", first, "config", "check", "-c", first)
    assert same.returncode == 0, same.stderr


def test_top_level_help_says_config_goes_before_or_after(run_cli):
    proc = run_cli("--help")
    assert "-c, --config FILE" in proc.stdout
    assert "before or after" in proc.stdout


def test_hash_password_from_a_pipe(run_cli):
    proc = run_cli("hash-password", "--cost", "10", input="pipe-secret-1\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no GetPassWarning, no "Password:" prompt, no "Aborted!"
    digest = proc.stdout.strip()
    assert digest.startswith("$2b$10$") and proc.stdout.count("\n") == 1
    assert bcrypt.checkpw(b"pipe-secret-1", digest.encode())


def test_hash_password_stdin_flag_and_crlf(run_cli):
    proc = run_cli("hash-password", "--stdin", "--cost", "10", input="crlf-secret\r\nignored second line\n")
    assert proc.returncode == 0 and proc.stderr == ""
    assert bcrypt.checkpw(b"crlf-secret", proc.stdout.strip().encode())


def test_hash_password_empty_pipe_is_one_clear_line(run_cli):
    proc = run_cli("hash-password", input="")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["error: empty password (nothing on the first line of standard input)"]


def test_hash_password_help_documents_the_pipe(run_cli):
    proc = run_cli("hash-password", "--help")
    text = " ".join(proc.stdout.split())
    assert "--stdin" in text
    assert "From a pipe or a file it reads the first line of standard input" in text
    assert "implied when standard input is not a terminal" in text
