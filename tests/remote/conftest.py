"""The loopback "remote" bench: coordinator, exporter, ser2net and sshd on 127.0.0.1.

Built once per session around one simulated DUT (``orin-03``, place ``orin-03``, tagged
``board=orin_agx``). Tests that need it skip with the reason when labgrid, ser2net or sshd is
missing. Everything the rig starts is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import pytest

from pytest_jetson.remote.spec import LabgridSpec
from pytest_jetson.sim.host import SimDut, SimHost
from tests.helpers import processes_mentioning, remaining

DUT = "orin-03"


@dataclass(frozen=True)
class Rig:
    """What a test gets: the bench, the simulated DUT and a spec pointing at its place."""

    bench: object  # LoopbackBench (labgrid-only import)
    dut: SimDut
    sim: SimHost

    def spec(self, **changes: object) -> LabgridSpec:
        """The DUT's labgrid block; ``changes`` override fields."""
        fields: dict[str, object] = {
            "coordinator": self.bench.coordinator,  # type: ignore[attr-defined]
            "lft": PurePosixPath(self.dut.lft),
            "place": DUT,
            "lock_wait_s": 1.0,
        }
        fields.update(changes)
        return LabgridSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """The loopback bench (session scope: ~5 s to build)."""
    from pytest_jetson.sim.rig.loopback import missing_tools

    missing = missing_tools()
    if missing:
        pytest.skip("loopback labgrid bench needs: " + ", ".join(missing))
    from pytest_jetson.sim.rig.loopback import LoopbackBench

    workdir = tmp_path_factory.mktemp("remote-rig")
    with SimHost(workdir / "sim") as sim:
        dut = sim.add_dut(DUT, "orin-agx")
        bench = LoopbackBench(
            workdir / "bench",
            host_dir=sim.host_dir,
            duts={DUT: (dut.console_port, dut.usb_port, {"board": "orin_agx"})},
        )
        with bench, pytest.MonkeyPatch.context() as mp:
            mp.setenv("PATH", bench.env()["PATH"])
            yield Rig(bench, dut, sim)


def left_running(argv_marker: str, timeout: float = 10.0) -> list[int]:
    """Wait until no process carries ``argv_marker``; the pids still there after ``timeout``."""
    return remaining(lambda: processes_mentioning(argv_marker), timeout)
