"""Command transports: the local runner, and the same argv over SSH to the loopback sshd."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_jetson.errors import BenchError, DeadlineExceeded
from pytest_jetson.host.command import Command
from pytest_jetson.host.transport import CommandTransport, LocalTransport, SshTransport
from tests.helpers import processes_mentioning

from .conftest import Rig, left_running


def ssh(rig: Rig, **kwargs: object) -> SshTransport:
    return SshTransport("127.0.0.1", options=["-F", str(rig.bench.ssh_config)], **kwargs)  # type: ignore[attr-defined,arg-type]


def test_local_transport_runs_through_the_runner(tmp_path: Path) -> None:
    transport: CommandTransport = LocalTransport()
    result = transport.run(
        Command(
            [sys.executable, "-c", "import os; print(os.getcwd()); print(os.environ['X'])"],
            cwd=tmp_path,
            timeout=30,
            what="probe",
            env={"X": "from-env"},
            log=tmp_path / "run.log",
        )
    )
    assert result.lines == [str(tmp_path), "from-env"]
    assert transport.host is None
    assert "from-env" in (tmp_path / "run.log").read_text()
    assert transport.exists(tmp_path / "run.log")
    assert "from-env" in transport.read_text(tmp_path / "run.log")


def test_remote_argv_is_bounded_and_quoted() -> None:
    transport = SshTransport("bench", remote_root=False)
    remote = transport.remote_argv(
        ["flash.sh", "a b", "$(reboot)"], cwd="/srv/L4T", timeout=60, sudo=True, env={"K": "v"}
    )
    assert remote == [
        "sudo", "-n", "timeout", "-k", "5", "60", "env", "-C", "/srv/L4T", "K=v",
        "flash.sh", "a b", "$(reboot)",
    ]  # fmt: skip
    argv = transport.ssh_argv(remote, tty=True)
    assert argv[:5] == ["ssh", "-o", "LogLevel=ERROR", "-tt", "bench"]
    assert argv[5].endswith("flash.sh 'a b' '$(reboot)'")
    with pytest.raises(ValueError, match="environment variable"):
        transport.remote_argv(["x"], cwd="/", timeout=1, env={"A;B": "1"})


def test_ssh_runs_in_cwd_with_env_and_streams_lines(rig: Rig, tmp_path: Path) -> None:
    seen: list[str] = []
    transport = ssh(rig)
    result = transport.run(
        Command(
            ["sh", "-c", 'pwd; echo "$GREETING"; printf "%s\\n" "$0"', "$(id) a;b"],
            cwd=rig.dut.lft,
            timeout=30,
            what="probe",
            env={"GREETING": "hello bench"},
            log=tmp_path / "ssh.log",
            on_line=seen.append,
        )
    )
    assert result.ok
    assert seen == [str(rig.dut.lft), "hello bench", "$(id) a;b"]
    log = (tmp_path / "ssh.log").read_text()
    assert "hello bench" in log and "--- exit 0" in log
    assert transport.remote_is_root()


def test_ssh_returns_the_remote_exit_status(rig: Rig) -> None:
    result = ssh(rig).run(
        Command(["sh", "-c", "echo failing; exit 3"], cwd="/", timeout=30, what="x")
    )
    assert result.returncode == 3
    assert result.lines == ["failing"]


def test_ssh_remote_deadline_kills_the_remote_process(rig: Rig) -> None:
    with pytest.raises(DeadlineExceeded) as info:
        ssh(rig).run(Command(["sleep", "31.4159"], cwd="/", timeout=1, grace=1, what="sleepy tool"))
    assert "timed out after 1 s waiting for sleepy tool on 127.0.0.1" in str(info.value)
    assert left_running("sleep 31.4159") == []


def test_a_local_kill_reaches_the_remote_process(rig: Rig) -> None:
    def interrupt(line: str) -> None:
        if line == "started":
            assert processes_mentioning("sleep 27.1828")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ssh(rig).run(
            Command(
                ["sh", "-c", "echo started; sleep 27.1828"],
                cwd="/",
                timeout=60,
                what="x",
                on_line=interrupt,
            )
        )
    assert left_running("sleep 27.1828") == []


def test_ssh_connection_failure_is_a_bench_error(rig: Rig, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        rig.bench.ssh_config.read_text().replace(  # type: ignore[attr-defined]
            f"Port {rig.bench.ssh_port}",
            "Port 1",  # type: ignore[attr-defined]
        )
    )
    transport = SshTransport("127.0.0.1", options=["-F", str(config)], remote_root=True)
    with pytest.raises(BenchError, match=r"ssh to 127\.0\.0\.1 failed"):
        transport.run(Command(["true"], cwd="/", timeout=10, what="probe"))


def test_ssh_reads_files(rig: Rig) -> None:
    transport = ssh(rig)
    release = rig.dut.lft / "rootfs" / "etc" / "nv_tegra_release"
    assert transport.read_text(release) == release.read_text()
    assert transport.exists(release)
    assert not transport.exists(rig.dut.lft / "no-such-file")
    with pytest.raises(BenchError, match="cannot read"):
        transport.read_text(rig.dut.lft / "no-such-file")


def test_watchdog_cuts_off_a_running_command(rig: Rig) -> None:
    calls: list[str] = []
    reasons = iter([None, None, "the exporter vanished"])
    transport = ssh(
        rig,
        watch=lambda: next(reasons, "the exporter vanished"),
        hangup=lambda: calls.append("hangup"),
    )
    with pytest.raises(BenchError, match="cut off: the exporter vanished"):
        transport.run(Command(["sh", "-c", "echo on; sleep 1"], cwd="/", timeout=30, what="x"))
    assert calls == ["hangup"]
