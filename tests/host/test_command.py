"""The command value object and the local transport that runs it."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from pytest_jetson.host.command import Command
from pytest_jetson.host.redact import Redactor
from pytest_jetson.host.transport import LocalTransport


def test_a_command_is_a_frozen_value_with_immutable_parts(tmp_path: Path) -> None:
    env = {"A": "1"}
    argv = ["./tool", "-p", "s3cret"]
    command = Command(argv, cwd=tmp_path, what="the tool", timeout=5, env=env, secrets=["s3cret"])
    env["A"] = "2"
    argv.append("more")
    assert command.argv == ("./tool", "-p", "s3cret")
    assert command.env == {"A": "1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.timeout = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        command.env["A"] = "3"  # type: ignore[index]
    assert isinstance(command.secrets, Redactor)
    assert command.shown == "./tool -p '***'"
    assert command == Command(
        ("./tool", "-p", "s3cret"), cwd=tmp_path, what="the tool", timeout=5, env={"A": "1"},
        secrets=command.secrets,
    )  # fmt: skip
    longer = command.but(timeout=60)
    assert (longer.timeout, longer.argv, command.timeout) == (60, command.argv, 5)


def test_local_transport_decides_sudo_for_its_user(tmp_path: Path) -> None:
    shim = tmp_path / "sudo"
    shim.write_text('#!/bin/sh\necho "via sudo $*"\n')
    shim.chmod(0o755)
    command = Command(
        [sys.executable, "-c", "print('direct')"], cwd=tmp_path, what="probe", timeout=30, sudo=True
    )
    as_root = LocalTransport(euid=0).run(command)
    assert as_root.output == "direct" and as_root.argv[0] == sys.executable
    as_user = LocalTransport(euid=1000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
        result = as_user.run(command)
    assert result.argv[:2] == ("sudo", "-n")
    assert result.output == f"via sudo -n {sys.executable} -c print('direct')"
    assert LocalTransport(euid=1000).run(command.but(sudo=False)).output == "direct"
