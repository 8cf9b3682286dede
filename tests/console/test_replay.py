"""``python -m pytest_jetson bootlog``: a recorded capture through the boot validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_jetson.__main__ import main
from pytest_jetson.console.log import ConsoleLog
from pytest_jetson.sim.boards import BOARDS
from pytest_jetson.sim.host import initial_state
from pytest_jetson.sim.state import StagedUser
from pytest_jetson.sim.tcu import boot_bytes

CHIP = {"orin-agx": "t234", "orin-nano": "t234", "thor-agx": "t264"}


def _saved_boot(tmp_path: Path, board: str, faults: tuple[str, ...], staged: bool) -> Path:
    """The bytes a simulated board's console prints during one boot, saved to a file."""
    sim = BOARDS[board]
    state = initial_state("d", sim, sim.releases[-1], "1-4", tmp_path / "tty", faults=faults)
    user = StagedUser("qa", "x", ()) if staged else None
    state = dataclasses.replace(state, flashed=dataclasses.replace(state.flashed, user=user))
    path = tmp_path / f"{board}.log"
    path.write_bytes(boot_bytes(state))
    return path


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize(
    ("faults", "staged", "status", "verdict"),
    [
        pytest.param((), True, 0, "OK, booted to the login prompt", id="clean"),
        pytest.param(("tcu_garble",), True, 0, "OK, booted to the login prompt", id="garbled"),
        pytest.param(
            ("kernel_panic", "tcu_garble"),
            True,
            1,
            "FAILED, failed in stage 'kernel' (waiting for 'login'): kernel_panic",
            id="panic-garbled",
        ),
        pytest.param(
            ("boot_hang",),
            True,
            1,
            "FAILED, the capture ends before the login prompt (last stage seen: kernel)",
            id="hang",
        ),
        pytest.param(
            ("oem_wizard", "tcu_garble"),
            True,
            1,
            "FAILED, failed in stage 'login' (waiting for 'login'): oem_wizard",
            id="wizard-staged",
        ),
        pytest.param(
            (), False, 0, "OK, booted to the first-boot wizard (no user staged)", id="wizard"
        ),
    ],
)
def test_every_simulated_fault_gets_its_verdict(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    board: str,
    faults: tuple[str, ...],
    staged: bool,
    status: int,
    verdict: str,
) -> None:
    capture = _saved_boot(tmp_path, board, faults, staged)
    flags = ["--user-staged"] if staged else []
    assert main(["bootlog", str(capture), "--chip", CHIP[board], *flags]) == status
    out = capsys.readouterr().out
    assert f"verdict: {verdict}" in out
    if "tcu_garble" in faults:
        assert "  uefi    not observed" in out


def test_a_console_log_of_the_artifacts_is_read_without_its_stamps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _saved_boot(tmp_path, "orin-agx", (), True).read_bytes()
    log = ConsoleLog(tmp_path / "console.log", 100.0)
    log.note("console /dev/ttyACM0 opened", 100.0)
    log.write([raw[: len(raw) // 2], raw[len(raw) // 2 :]], 100.5)
    log.close()
    assert (tmp_path / "console.log").read_bytes().startswith(b"    0.000 # console")
    assert main(["bootlog", str(tmp_path / "console.log"), "--chip", "t234"]) == 0
    out = capsys.readouterr().out
    assert "  mb1     seen          [0000.063] I> MB1 (version: " in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["bootlog", "missing.log", "--chip", "t234"], id="missing-file"),
        pytest.param(["bootlog", "x.log", "--chip", "t194"], id="unknown-chip"),
        pytest.param(["bootlog", "x.log"], id="no-chip"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    argv = [str(tmp_path / a) if a.endswith(".log") else a for a in argv]
    with pytest.raises(SystemExit) if "--chip" not in argv or "t194" in argv else _no_exit():
        status = main(argv)
        assert status == 2
    err = capsys.readouterr().err
    assert "error:" in err and ("missing.log" in err or "--chip" in err)


class _no_exit:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
