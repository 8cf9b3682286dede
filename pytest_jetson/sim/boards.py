"""The simulated devkits and the L4T releases the simulator can build trees for.

Values are the real ones: module/carrier ids and SKUs of the devkits (p3701-0000 on p3737-0000,
p3767-0005 on p3768-0000, p3834-0008 on p4071-0000), the EEPROM fields real boards report
(board id, FAB, SKU, REV, chip SKU, the RCM USB product id 7023/7523/7026) and the release
strings each L4T release writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_jetson.catalogue import T234, T264, ChipFamily
from pytest_jetson.errors import UsageError


@dataclass(frozen=True)
class SimEeprom:
    """What the simulated module (and carrier) EEPROM and chip info report."""

    board_id: str
    """Module board id, e.g. ``3701``."""
    fab: str
    """Board FAB (``500``, ``RC1``); a string, may be alphanumeric."""
    sku: str
    """Module SKU, e.g. ``0000``."""
    rev: str
    """Board REV, e.g. ``J.0``."""
    chip_sku: str
    """Chip SKU as chkbdinfo ``-C`` prints it, e.g. ``00:00:00:D0``."""
    rcm_pid: int
    """USB product id (vendor 0x0955) while in recovery."""
    baseboard_id: str | None = None
    """Carrier (CVB) board id when the tools read it (Thor: ``4071``)."""
    ramcode: str = "00:00:00:02"
    """Ramcode as printed by chkbdinfo ``-R``."""


@dataclass(frozen=True)
class SimRelease:
    """One L4T release as the simulator writes it (``/etc/nv_tegra_release`` and the package
    versions of the real release)."""

    version: str
    """Profile form, ``R36.4.3``."""
    gcid: str
    date: str
    """DATE field of ``nv_tegra_release`` (1-digit days keep their double space)."""
    kernel: str
    """``uname -r``: ``5.15.148-tegra``."""
    ubuntu: str
    """``22.04.5 LTS``."""
    deb_stamp: str
    """14-digit stamp of the debs: ``36.4.3-<stamp>``."""

    @property
    def major(self) -> int:
        """Major release number (``36``)."""
        return int(self.version[1:].split(".")[0])

    @property
    def revision(self) -> str:
        """``REVISION`` field of nv_tegra_release (``4.3``)."""
        return self.version[1:].split(".", 1)[1]

    @property
    def dotted(self) -> str:
        """``36.4.3``."""
        return self.version[1:]

    @property
    def minor(self) -> int:
        """Minor release number (``4`` in R36.4.3)."""
        return int(self.revision.split(".")[0])

    @property
    def deb_version(self) -> str:
        """Debian package version, ``36.4.3-20250107174145``."""
        return f"{self.dotted}-{self.deb_stamp}"

    @property
    def uefi_version(self) -> str:
        """UEFI banner version, ``36.4.3-gcid-38968081``."""
        return f"{self.dotted}-gcid-{self.gcid}"

    def at_least(self, major: int, minor: int = 0) -> bool:
        """Whether this release is ``R<major>.<minor>`` or newer."""
        return (self.major, self.minor) >= (major, minor)


RELEASES: dict[str, SimRelease] = {
    r.version: r
    for r in (
        SimRelease(
            "R36.2.0",
            "34956989",
            "Fri Nov 24 18:07:32 UTC 2023",
            "5.15.122-tegra",
            "22.04.3 LTS",
            "20231124180732",
        ),
        SimRelease(
            "R36.4.3",
            "38968081",
            "Wed Jan  8 01:49:37 UTC 2025",
            "5.15.146-tegra",
            "22.04.5 LTS",
            "20250107174145",
        ),
        SimRelease(
            "R38.2.0",
            "41844464",
            "Mon Aug  4 23:36:10 UTC 2025",
            "6.8.12-tegra",
            "24.04.3 LTS",
            "20250804233610",
        ),
        SimRelease(
            "R38.4.0",
            "43443517",
            "Tue Dec  2 19:10:51 UTC 2025",
            "6.8.12-tegra",
            "24.04.3 LTS",
            "20251202191051",
        ),
        SimRelease(
            "R39.2.0",
            "45755727",
            "Mon Jun  1 09:17:31 PM UTC 2026",
            "6.8.12-tegra",
            "24.04.4 LTS",
            "20260601211731",
        ),
    )
}
"""Every release the simulator knows, by profile version."""


@dataclass(frozen=True)
class SimBoard:
    """One simulated devkit: identity, shipped profile, releases and EEPROM."""

    key: str
    """``orin-agx`` | ``orin-nano`` | ``thor-agx``."""
    dut_name: str
    """Built-in DUT name: ``sim-orin`` | ``sim-orin-nano`` | ``sim-thor``."""
    devkit_name: str
    """Model string, ``NVIDIA Jetson AGX Orin Developer Kit``."""
    chip: ChipFamily
    module_id: str
    module_sku: str
    carrier_id: str
    carrier_sku: str
    devkit_conf: str
    """Devkit flash conf (a symlink in the tree), ``jetson-agx-orin-devkit.conf``."""
    real_conf: str
    """The conf the devkit symlink points at."""
    default_boot_device: str
    releases: tuple[str, ...]
    default_release: str
    eeprom: SimEeprom
    profile_name: str
    """Shipped profile (``profiles/<name>.yaml``)."""
    console_tty: str
    """Kernel console device on the DUT (``ttyTCU0``)."""

    @property
    def module_revision(self) -> str:
        """``reference_devkit.module.revision`` matching the EEPROM (the FAB)."""
        return self.eeprom.fab

    def reference_devkit(self) -> dict[str, object]:
        """The profile's ``reference_devkit`` block for this board (module id, SKU and
        revision as its EEPROM reports them, the carrier and the devkit conf)."""
        return {
            "name": self.devkit_name,
            "module": {
                "id": self.module_id,
                "sku": self.eeprom.sku,
                "revision": self.module_revision,
            },
            "carrier": {"id": self.carrier_id, "sku": self.carrier_sku},
            "flash_config": self.devkit_conf,
        }

    def release(self, version: str | None = None) -> SimRelease:
        """The release ``version`` (default: the board's default), checked against the board."""
        chosen = version or self.default_release
        if chosen not in self.releases:
            raise UsageError(
                f"simulated board {self.key!r} has no release {chosen!r} "
                f"(available: {', '.join(self.releases)})"
            )
        return RELEASES[chosen]


BOARDS: dict[str, SimBoard] = {
    b.key: b
    for b in (
        SimBoard(
            key="orin-agx",
            dut_name="sim-orin",
            devkit_name="NVIDIA Jetson AGX Orin Developer Kit",
            chip=T234,
            module_id="p3701",
            module_sku="0000",
            carrier_id="p3737",
            carrier_sku="0000",
            devkit_conf="jetson-agx-orin-devkit.conf",
            real_conf="p3737-0000-p3701-0000.conf",
            default_boot_device="internal",
            releases=("R36.2.0", "R36.4.3"),
            default_release="R36.4.3",
            eeprom=SimEeprom("3701", "500", "0000", "J.0", "00:00:00:D0", 0x7023),
            profile_name="jetson-agx-orin-devkit",
            console_tty="ttyTCU0",
        ),
        SimBoard(
            key="orin-nano",
            dut_name="sim-orin-nano",
            devkit_name="NVIDIA Jetson Orin Nano Developer Kit",
            chip=T234,
            module_id="p3767",
            module_sku="0005",
            carrier_id="p3768",
            carrier_sku="0000",
            devkit_conf="jetson-orin-nano-devkit.conf",
            real_conf="p3768-0000-p3767-0000-a0.conf",
            default_boot_device="internal",
            releases=("R36.2.0", "R36.4.3"),
            default_release="R36.4.3",
            eeprom=SimEeprom("3767", "RC1", "0005", "B.4", "00:00:00:D5", 0x7523),
            profile_name="jetson-orin-nano-devkit",
            console_tty="ttyTCU0",
        ),
        SimBoard(
            key="thor-agx",
            dut_name="sim-thor",
            devkit_name="NVIDIA Jetson AGX Thor Developer Kit",
            chip=T264,
            module_id="p3834",
            module_sku="0008",
            carrier_id="p4071",
            carrier_sku="0000",
            devkit_conf="jetson-agx-thor-devkit.conf",
            real_conf="p3834-0008-p4071-0000-nvme.conf",
            default_boot_device="external",
            releases=("R38.2.0", "R38.4.0", "R39.2.0"),
            default_release="R38.4.0",
            eeprom=SimEeprom(
                "3834", "400", "0008", "G.5", "00:00:00:A0", 0x7026, baseboard_id="4071"
            ),
            profile_name="jetson-agx-thor-devkit",
            console_tty="ttyUTC0",
        ),
    )
}
"""The simulated devkits by key."""


def board_for_dut(dut_name: str) -> SimBoard:
    """The simulated board behind a built-in DUT name (``sim-orin`` ...)."""
    for board in BOARDS.values():
        if board.dut_name == dut_name:
            return board
    known = ", ".join(b.dut_name for b in BOARDS.values())
    raise UsageError(f"{dut_name!r} is not a simulated DUT (known: {known})")


def board_by_key(key: str) -> SimBoard:
    """The simulated board ``key`` (``orin-agx`` ...), with a usage error naming the keys."""
    try:
        return BOARDS[key]
    except KeyError:
        raise UsageError(f"unknown simulated board {key!r} (known: {', '.join(BOARDS)})") from None
