"""``--jetson-requalify``: a health check of each selected DUT instead of the collected tests.

The check is a boot validation of the DUT's known-good image: with ``known_good`` in the
inventory, that image goes through the flash flow and its boot is validated (every stage, the
login, the release), as the ladder's ``reflash`` rung does; without it, boardctl resets the
board and the boot of what it holds is validated (every stage, then a login). When it passes,
the DUT's quarantine record is removed; when it fails, the record stays with the attempt
added. Quarantined DUTs are touched only in such a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.plugin.session import JetsonSession, get_session

if TYPE_CHECKING:
    from pytest_jetson.dut import Dut


class RequalifyItem(pytest.Item):
    """The health check of one DUT."""

    def __init__(self, *, dut_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dut_name = dut_name

    def runtest(self) -> None:
        """Validate the boot of the DUT's known-good image; lift or keep the quarantine."""
        state = get_session(self.config)
        assert state is not None
        store = state.quarantine(self.dut_name)
        try:
            _health_check(state, self.dut_name)
        except Exception as exc:
            record = store.read(self.dut_name)
            if record is not None:
                from pytest_jetson.plugin.recovery import run_name

                store.add_attempt(record, run_name(state), str(exc).splitlines()[0])
                state.emit(f"jetson requalify {self.dut_name}: still failing, quarantine kept")
            raise
        lifted = store.lift(self.dut_name)
        what = "quarantine lifted" if lifted else "healthy (it was not quarantined)"
        state.emit(f"jetson requalify {self.dut_name}: {what}")

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Where the item comes from, for reports."""
        return "jetson-requalify", None, f"requalify {self.dut_name}"


def _health_check(state: JetsonSession, name: str) -> None:
    """Boot validation of the known-good image: flashed first when the inventory names one,
    else what the board holds, after a reset."""
    from pytest_jetson.errors import BenchError
    from pytest_jetson.plugin.recovery import reflash_rung

    dut = state.dut(name)
    if dut.boardctl() is None:
        raise BenchError(f"DUT {name}: requalification needs boardctl to reset the board")
    if dut.entry.known_good is None:
        _validate_reset_boot(state, dut)
        return
    reflash = reflash_rung(state, dut)
    if isinstance(reflash, str):
        raise BenchError(f"DUT {name}: cannot flash its known-good image: {reflash}")
    reflash()


def _validate_reset_boot(state: JetsonSession, dut: Dut) -> None:
    """Reset the board, follow every boot stage within the ``boot`` deadline, log in. A
    console silent since the reset fails within the ``recovery`` deadline (a Jetson prints
    within seconds of a reset), not the first stage's."""
    import time

    from pytest_jetson.console.boot import BootSequencer
    from pytest_jetson.console.errors import ConsoleSilent

    boardctl = dut.boardctl()
    assert boardctl is not None
    console = dut.console()
    console.discard()
    user = dut.entry.default_user
    start, before = time.monotonic(), console.bytes_received
    boardctl.reset()
    first = min(dut.deadlines.recovery, dut.deadlines.boot)
    if not console.wait_received(before, max(0.0, start + first - time.monotonic())):
        raise ConsoleSilent(console.port, first, awaited="any output", log_path=console.log_path)
    sequencer = BootSequencer(
        console,
        dut.entry.profile.chip,
        user_staged=user is not None and user.kind != "skip",
        start=start,
        total=dut.deadlines.boot,
    )
    for _ in sequencer:
        pass
    flow = state.flow(dut.name)
    flow.drop_shell()
    flow.shell(timeout=dut.deadlines.login)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Replace the collected tests with one health check per selected DUT."""
    state = get_session(config)
    if state is None:
        return
    checks: list[pytest.Item] = [
        RequalifyItem.from_parent(session, name=f"requalify[{name}]", dut_name=name)
        for name in state.dut_names
    ]
    config.hook.pytest_deselected(items=list(items))
    items[:] = checks


INI_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
"""The files pytest reads its ini keys from, in its own order: the folder's settings
(``jetson_bench``, ``addopts``) apply to ``requalify`` as to a test run there."""


def requalify(name: str, *, bench: str | None, cwd: Path) -> int:
    """``python -m pytest_jetson requalify NAME``: pytest with ``--jetson-requalify`` on the
    DUT, in ``cwd``, collecting nothing else (an empty folder as the only test path).

    Returns 0 requalified, 1 still failing, 2 usage error.
    """
    import tempfile

    argv = ["-p", "no:cacheprovider", "-q", f"--rootdir={cwd}", "--jetson-requalify"]
    ini = next((cwd / n for n in INI_FILES if (cwd / n).is_file()), None)
    if ini is not None:
        argv.append(f"--config-file={ini}")
    argv += ["--dut", name]
    if bench is not None:
        from pytest_jetson.inputs import user_path

        argv.append(f"--jetson-bench={user_path(bench, '--jetson-bench', base=cwd)}")
    with tempfile.TemporaryDirectory(prefix="jetson-requalify-") as empty:
        status = pytest.main([*argv, empty])
    if status == pytest.ExitCode.OK:
        return 0
    if status in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        return 2
    return 1
