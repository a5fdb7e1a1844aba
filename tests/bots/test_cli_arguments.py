"""Every argument of the real ``knowrithm-bots`` command: help, version, and bad values.

A bad argument is one sentence on stderr and exit status 2, never a traceback or a usage
block; nothing is written to stdout.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import knowrithm_bots
from tests.adapters.test_console import run_cli

SUBCOMMANDS = ("demo", "run", "adapters", "check-config", "local-knowrithm")


def test_version_is_the_installed_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"knowrithm-bots {knowrithm_bots.__version__}"
    assert knowrithm_bots.__version__ != "0+unknown"


def test_top_level_help_lists_every_subcommand_with_a_summary() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for name in SUBCOMMANDS:
        (line,) = [s for s in result.stdout.splitlines() if s.strip().startswith(name + " ")]
        assert len(line.split()) > 2, f"{name} has no summary"
    assert "130" in result.stdout  # the exit statuses are documented


@pytest.mark.parametrize(
    ("command", "defaults"),
    [
        ("demo", ["--word-delay SECONDS  pause between the words of an answer (default: 0.04)"]),
        ("run", []),
        ("adapters", []),
        ("check-config", []),
        (
            "local-knowrithm",
            ["(default: 8765)", "(default: 127.0.0.1)", "(default: 0.04)"],
        ),
    ],
)
def test_each_subcommand_help_describes_it_and_shows_defaults(
    command: str, defaults: list[str]
) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    description = result.stdout.split("\n\n")[1]
    assert len(description.split()) >= 10, f"{command} --help has no description"
    for default in defaults:
        assert " ".join(default.split()) in text
    assert "--log-level" in text and "else WARNING while the terminal chat runs" in text


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Files and ports for the bad arguments below, by placeholder name."""
    files = {
        "valid": "knowrithm: {base_url: local}\nstore: {backend: memory}\n",
        "empty": "",
        "no_knowrithm": "store: {backend: memory}\n",
        "unknown_adapter": "knowrithm: {base_url: local}\nadapters:\n  matrix: {}\n",
    }
    found = {"dir": str(tmp_path), "missing": str(tmp_path / "missing.yaml")}
    for name, text in files.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        found[name] = str(path)
    undecodable = tmp_path / "latin1.yaml"
    undecodable.write_bytes("knowrithm: {base_url: local}  # café\n".encode("latin-1"))
    found["undecodable"] = str(undecodable)
    unreadable = tmp_path / "unreadable.yaml"
    unreadable.write_text(files["valid"], encoding="utf-8")
    unreadable.chmod(0)
    found["unreadable"] = str(unreadable)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        found["busy_port"] = str(busy.getsockname()[1])
        yield found


BAD_ARGUMENTS = [
    # (arguments, what the sentence must name)
    (["local-knowrithm", "--port", "99999"], "--port"),
    (["local-knowrithm", "--port", "65536"], "--port"),
    (["local-knowrithm", "--port", "-1"], "--port"),
    (["local-knowrithm", "--port", "eighty"], "--port"),
    (["local-knowrithm", "--port", "{busy_port}"], "in use"),
    (["local-knowrithm", "--host", "bad_host!"], "--host"),
    (["local-knowrithm", "--host", "999.1.1.1"], "--host"),
    (["local-knowrithm", "--host", ""], "--host"),
    (["local-knowrithm", "--host", "192.0.2.1", "--port", "0"], "not an address of this machine"),
    (["local-knowrithm", "--word-delay", "-0.5"], "--word-delay"),
    (["demo", "--word-delay", "-1"], "--word-delay"),
    (["demo", "--word-delay", "soon"], "--word-delay"),
    (["demo", "--word-delay", "nan"], "--word-delay"),
    (["demo", "--word-delay", "inf"], "--word-delay"),
    (["demo", "--word-delay", "11"], "--word-delay"),
    (["demo", "--colour"], "--colour"),
    (["--log-level", "loud", "demo"], "--log-level"),
    (["demo", "--log-file", "{dir}"], "log file"),
    (["dmeo"], "dmeo"),
    ([], "COMMAND"),
    (["run", "console"], "--config"),
    (["run", "--config", "{valid}"], "ADAPTER"),
    (["run", "matrix", "--config", "{valid}"], "matrix"),
    (["check-config", "--config", "{unknown_adapter}"], "matrix"),
    (["run", "console", "--config", "{dir}"], "is a directory"),
    (["check-config", "--config", "{dir}"], "is a directory"),
    (["check-config", "--config", "{missing}"], "does not exist"),
    (["check-config", "--config", "{undecodable}"], "not UTF-8"),
    pytest.param(
        ["run", "console", "--config", "{unreadable}"],
        "permission denied",
        marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file"),
    ),
    (["run", "console", "--config", "{empty}"], "knowrithm-bots demo"),
    (["check-config", "--config", "{no_knowrithm}"], "knowrithm-bots demo"),
]


@pytest.mark.parametrize(("args", "named"), BAD_ARGUMENTS)
def test_a_bad_argument_is_one_sentence_and_exit_status_2(
    args: list[str], named: str, paths: dict[str, str]
) -> None:
    result = run_cli(*(a.format(**paths) for a in args), timeout=30)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    (sentence,) = lines
    assert sentence.startswith("knowrithm-bots")
    assert named in sentence
    # One sentence: no full stop followed by another sentence.
    assert not re.search(r"\.\s+[A-Z]", sentence), sentence


def test_a_config_without_knowrithm_names_the_section_and_the_demo(tmp_path: Path) -> None:
    for text in ("", "# nothing but a comment\n", "store: {backend: memory}\n", "knowrithm:\n"):
        config = tmp_path / "c.yaml"
        config.write_text(text, encoding="utf-8")
        result = run_cli("check-config", "--config", str(config))
        assert result.returncode == 2, text
        assert "knowrithm" in result.stderr.replace("knowrithm-bots", "")
        assert "run knowrithm-bots demo" in result.stderr
