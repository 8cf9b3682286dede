"""runner.run: streaming, deadlines that kill the whole process group, interrupts, secrets, sudo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_jetson.errors import BenchError, DeadlineExceeded
from pytest_jetson.host.runner import privileged_argv, run, sudo_refused
from tests.helpers import alive


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def test_streams_merged_output_to_log_and_callback(tmp_path: Path) -> None:
    tool = script(tmp_path, "tool", "echo one\necho two >&2\nprintf 'three'\nexit 3\n")
    seen: list[str] = []
    log = tmp_path / "logs" / "tool.log"
    result = run(
        [str(tool)], cwd=tmp_path, timeout=30, what="the tool", log=log, on_line=seen.append
    )
    assert seen == ["one", "two", "three"]
    assert result.returncode == 3 and not result.ok
    assert result.output == "one\ntwo\nthree"
    assert result.log_path == log
    text = log.read_text()
    assert str(tool) in text.splitlines()[0]
    assert "one\ntwo\nthree\n" in text
    assert "--- exit 3" in text


def test_env_is_merged_over_the_environment(tmp_path: Path) -> None:
    result = run(
        ["sh", "-c", 'echo "$EXTRA:$HOME"'],
        cwd=tmp_path,
        timeout=30,
        what="env",
        env={"EXTRA": "x"},
    )
    assert result.output == f"x:{os.environ['HOME']}"


def test_deadline_kills_the_process_group_including_grandchildren(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    tool = script(
        tmp_path,
        "hang",
        f"""\
        sh -c 'trap "" TERM; echo $$ > {pidfile}; while :; do sleep 1; done' &
        echo waiting for the board
        wait
        """,
    )
    log = tmp_path / "hang.log"
    with pytest.raises(DeadlineExceeded) as info:
        run([str(tool)], cwd=tmp_path, timeout=2.0, what="boardctl recovery", log=log, grace=0.3)
    message = str(info.value)
    assert "boardctl recovery" in message
    assert "2 s" in message
    assert "waiting for the board" in message
    assert str(log) in message
    assert not alive(int(pidfile.read_text())), "grandchild ignoring SIGTERM survived"
    assert "deadline of 2 s passed" in log.read_text()


def test_leftover_background_process_is_killed_after_exit(tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    tool = script(tmp_path, "daemonish", f"sleep 300 &\necho $! > {pidfile}\necho done\n")
    result = run([str(tool)], cwd=tmp_path, timeout=30, what="daemonish")
    assert result.ok and result.output == "done"
    assert not alive(int(pidfile.read_text()))  # run() returned: its group is gone


def test_exception_from_callback_kills_the_group_and_propagates(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    tool = script(tmp_path, "slow", f"echo $$ > {pidfile}\necho ready\nsleep 300\n")

    def interrupt(line: str) -> None:
        if line == "ready":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run([str(tool)], cwd=tmp_path, timeout=60, what="slow", on_line=interrupt, grace=1)
    assert not alive(int(pidfile.read_text()))  # run() returned: its group is gone


DRIVER = """\
import sys
from pathlib import Path
from pytest_jetson.host.runner import run
tmp = Path(sys.argv[1])
print("running", flush=True)
run([str(tmp / "slow")], cwd=tmp, timeout=120, what="slow", log=tmp / "slow.log", grace=1)
"""


@pytest.mark.parametrize(
    ("sig", "expected_rc"),
    [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, -signal.SIGTERM)],
)
def test_parent_signal_kills_child_group_before_exiting(
    tmp_path: Path, sig: signal.Signals, expected_rc: int
) -> None:
    pidfile = tmp_path / "child.pid"
    script(tmp_path, "slow", f"sleep 300 &\necho $! > {pidfile}\nwait\n")
    parent = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    assert parent.stdout.readline() == "running\n"
    end = time.monotonic() + 10
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < end, "child never started"
        time.sleep(0.02)
    grandchild = int(pidfile.read_text())
    parent.send_signal(sig)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == expected_rc, err
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in err
    # run() returns only once its group is gone: no wait here, so load cannot make it flaky
    assert not alive(grandchild), "the child's process group outlived the parent"
    assert "interrupted" in (tmp_path / "slow.log").read_text()


def test_secrets_never_reach_log_result_or_error(tmp_path: Path) -> None:
    secret = "s3cr3t-Pw"
    tool = script(tmp_path, "leaky", 'echo "Password - $2"\nsleep 300\n')
    log = tmp_path / "leaky.log"
    with pytest.raises(DeadlineExceeded) as info:
        run(
            [str(tool), "-p", secret],
            cwd=tmp_path,
            timeout=2,
            what="leaky",
            log=log,
            secrets=[secret],
            grace=0.3,
        )
    assert secret not in str(info.value) and secret not in info.value.output
    assert "Password - ***" in str(info.value)
    quick = script(tmp_path, "quick", 'echo "Password - $2"\n')
    result = run(
        [str(quick), "-p", secret], cwd=tmp_path, timeout=30, what="q", log=log, secrets=[secret]
    )
    assert result.output == "Password - ***"
    assert result.argv[-1] == "***"
    assert secret not in log.read_text()
    assert log.read_text().count("Password - ***") == 2


def test_privileged_argv_adds_sudo_n_only_when_not_root() -> None:
    assert privileged_argv(["./nvautoflash.sh"], sudo=True, euid=1000) == [
        "sudo",
        "-n",
        "./nvautoflash.sh",
    ]
    assert privileged_argv(["./nvautoflash.sh"], sudo=True, euid=0) == ["./nvautoflash.sh"]
    assert privileged_argv(["./x"], sudo=False, euid=1000) == ["./x"]


def test_tool_variables_go_to_sudo_as_assignments_or_into_the_environment(
    tmp_path: Path,
) -> None:
    assign = {"BOARDSKU": "0000", "FAB": "500"}
    # Through sudo (which resets the environment): NVIDIA's `sudo BOARDSKU=0000 ./flash.sh`.
    assert privileged_argv(
        ["./flash.sh", "b", "internal"], sudo=True, euid=1000, assign=assign
    ) == [
        "sudo",
        "-n",
        "BOARDSKU=0000",
        "FAB=500",
        "./flash.sh",
        "b",
        "internal",
    ]
    with pytest.raises(ValueError, match="not an environment variable name"):
        privileged_argv(["./x"], sudo=True, euid=1000, assign={"A;B": "1"})
    # As root: the tool finds them in its environment, and the log shows the command NVIDIA's way.
    tool = script(tmp_path, "show", 'echo "sku=$BOARDSKU fab=$FAB"\n')
    log = tmp_path / "flash.log"
    result = run([str(tool)], cwd=tmp_path, timeout=30, what="t", assign=assign, log=log)
    assert result.output == "sku=0000 fab=500"
    assert result.argv[:2] == ("BOARDSKU=0000", "FAB=500")
    assert f"BOARDSKU=0000 FAB=500 {tool}" in log.read_text()


@pytest.mark.parametrize(
    ("said", "argv", "expected"),
    [
        (
            "sudo: a password is required",
            ["./nvautoflash.sh", "--print_boardid"],
            ["sudo needs a password", "NOPASSWD for ./nvautoflash.sh --print_boardid"],
        ),
        (
            "sudo: sorry, you are not allowed to set the following environment variables: BOARDSKU",
            ["BOARDSKU=0000", "./flash.sh"],
            [
                "not allowed to set the following environment variables: BOARDSKU",
                "add SETENV to the sudoers rule of ./flash.sh",
            ],
        ),
    ],
    ids=["password", "setenv"],
)
def test_sudo_refusals_become_clear_bench_errors(
    tmp_path: Path, said: str, argv: list[str], expected: list[str]
) -> None:
    fake_sudo = script(tmp_path, "sudo", f"echo '{said}' >&2\nexit 1\n")
    with pytest.raises(BenchError) as info:
        run([str(fake_sudo), "-n", *argv], cwd=tmp_path, timeout=30, what="the tool")
    message = str(info.value)
    for text in [*expected, "run as root"]:
        assert text in message, message
    assert not sudo_refused(["./tool"], 1, "sudo: a password is required")


def test_missing_tool_and_missing_cwd_are_bench_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="not found"):
        run([str(tmp_path / "nope")], cwd=tmp_path, timeout=5, what="nothing")
    with pytest.raises(BenchError, match="does not exist"):
        run(["true"], cwd=tmp_path / "gone", timeout=5, what="nothing")
