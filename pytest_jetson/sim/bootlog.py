"""The boot log a simulated DUT prints on its serial console, in the order and
wording of NVIDIA's boot logs.

:func:`boot_script` turns a DUT state into timed lines: MB1, MB2, TOS, UEFI (version and GCID of
the flashed release), L4TLauncher, kernel, systemd and what ends the boot (a login prompt,
an automatic login, or the OEM first-boot wizard). Faults change the script: ``kernel_panic``,
``boot_hang``, ``serial_unplug``, ``oem_wizard``, ``slow_boot``, ``slow_stage=STAGE:DURATION``,
``flaky_boot=RATE[@SEED]``.

MB1 lines (and Thor's MB2 lines) carry the firmware's boot clock (``[0000.063] ``, milliseconds
since power-on), kernel and early systemd lines the kernel's clock (``[    1.234567] ``,
seconds since the kernel started); Orin's MB2 and every UEFI line carry none, as on real
boards. The timers are computed from the simulated times, which are seeded by the boot number:
the same in every run, whatever this host's load.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from pytest_jetson.sim.boards import BOARDS, RELEASES, SimRelease
from pytest_jetson.sim.image import release_of
from pytest_jetson.sim.state import DutState, Flashed

Kind = Literal["line", "unplug", "replug", "end"]
End = Literal["login", "autologin", "wizard", "dead"]

STAGE_SECONDS = {
    "mb1": 0.3,
    "mb2": 0.2,
    "tos": 0.1,
    "uefi": 0.4,
    "kernel": 0.6,
    "systemd": 0.3,
    "login": 0.1,
}
"""Simulated seconds per stage at speed 1.0 (about two seconds in all)."""
SLOW_BOOT_FACTOR = 4.0
UNPLUG_SECONDS = 1.0
JITTER = 0.03
"""Each stage of each boot is up to 3 % shorter or longer, drawn from a generator seeded with
the boot number: the simulated timers vary like a real board's, and repeat in every run."""
BOOT_CLOCK = "\x00boot\x00"
"""Placeholder for the firmware's boot clock (``[0000.063] ``, ms since power-on, MB1)."""
KERNEL_CLOCK = "\x00kernel\x00"
"""Placeholder for the kernel's clock (``[    1.234567] ``, seconds since the kernel started)."""
BOOT_CLOCK_OFFSET = 0.063
"""The boot clock on MB1's first line (real MB1 logs start at about ``[0000.06x]``)."""

WIZARD_LINES = (
    "Please complete system configuration setup on the serial port provided by Jetson's USB "
    "device mode connection. e.g. /dev/ttyACMx where x can 0, 1, 2 etc.",
    "",
    "Welcome to Jetson Initial Configuration",
)
PANIC = "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)"


@dataclass(frozen=True)
class Event:
    """One thing the console does ``at`` simulated seconds after the boot started."""

    at: float
    kind: Kind
    text: str = ""
    end: End | None = None
    stage: str = ""
    """The boot stage that prints the line (``panic`` and ``end`` lines decide the boot)."""


def flashed_release(flashed: Flashed) -> SimRelease:
    """The release on the DUT, from its ``nv_tegra_release``."""
    return release_of(flashed.nv_tegra_release, RELEASES[flashed.release])


def machine_model(state: DutState, flashed: Flashed) -> str:
    """``Machine model:`` of the kernel log; the Nano super DTB has its own
    (``NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super``)."""
    if state.board == "orin-nano" and "super" in flashed.board:
        return "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    return BOARDS[state.board].devkit_name


def end_of_boot(state: DutState, flashed: Flashed) -> End:
    """How the boot ends: wizard without a staged user, else a login (automatic or not)."""
    if flashed.user is None or state.has_fault("oem_wizard"):
        return "wizard"
    if BOARDS[state.board].console_tty in flashed.user.autologin_ttys:
        return "autologin"
    return "login"


def _firmware(state: DutState, release: SimRelease) -> dict[str, list[str]]:
    """MB1, MB2 and TOS lines. MB1 lines carry the boot clock (``[0000.063] ``, added when
    played); so do Thor's MB2 lines, while Orin's MB2 lines carry none (real captures)."""
    chip = state.chip
    mb1 = "1.4.0.4" if chip == "t234" else "1.0.0.0"
    stages: dict[str, list[str]] = {
        "mb1": [
            f"I> MB1 (version: {mb1}-{chip}-{release.gcid}-08e631ca)",
            f"I> {chip}-A01-1-Silicon (0x12347) Prod",
            "I> Boot-mode : Coldboot",
            "I> Entry timestamp: 0x00000000",
            "I> last_boot_error: 0x0",
            "I> Task: SE error check",
            "I> Boot_device: QSPI_FLASH instance: 0",
            "I> Task: Load MB2",
        ],
        "mb2": [
            f"I> MB2 (version: 0.0.0.0-{chip}-{release.gcid}-562369e5)",
            "I> Task: Load BPMP FW",
            "I> Task: Load TOS",
            "I> Task: Load UEFI",
        ],
    }
    if chip == "t264":
        stages["mb1"] = [
            "I> PSC BL1 (version: 1.0.0.0)",
            "I> HPSE: boot done",
            "I> SB: secure boot done",
            *stages["mb1"],
        ]
    stamped = {stage: [BOOT_CLOCK + line for line in lines] for stage, lines in stages.items()}
    if chip == "t234":
        stamped["mb2"] = stages["mb2"]
        stamped["tos"] = [
            "I/TC: ",
            "I/TC: OP-TEE version: 4.2 (gcc version 11.3.0 (Buildroot 2022.08)) #2",
            "I/TC: Primary CPU initializing",
            "I/TC: Primary CPU switching to normal world boot",
        ]
    else:
        stamped["tos"] = [
            "NOTICE:  BL31: v2.8(release):",
            "NOTICE:  BL31: Built : 12:00:00",
            "INFO:    Hafnium: partition manager started",
        ]
    return stamped


def _uefi(release: SimRelease) -> list[str]:
    return [
        f"Jetson UEFI firmware (version {release.uefi_version} built on 2025-01-08T01:49:37+00:00)",
        "ESC   to enter Setup.",
        "F11   to enter Boot Manager Menu.",
        "Enter to continue boot.",
        "** WARNING: Test Key is used. **",
        "L4TLauncher: Attempting Direct Boot",
        "EFI stub: Booting Linux Kernel...",
        "EFI stub: Using DTB from configuration table",
        "EFI stub: Exiting boot services...",
    ]


def _kernel(state: DutState, flashed: Flashed, release: SimRelease) -> list[str]:
    cpu = "0x410fd421" if state.chip == "t234" else "0x410fd8f0"
    lines = [
        f"Booting Linux on physical CPU 0x0000000000 [{cpu}]",
        f"Linux version {release.kernel} (buildbrain@mobile-u64-6422-d7000) "
        "(aarch64-buildroot-linux-gnu-gcc.br_real (Buildroot 2022.08) 11.3.0, "
        "GNU ld (GNU Binutils) 2.38) #1 SMP PREEMPT",
        f"Machine model: {machine_model(state, flashed)}",
        "efi: EFI v2.7 by EDK II",
        "Zone ranges:",
        "psci: probing for conduit method from DT.",
        f"Kernel command line: root=/dev/{_rootdev(flashed)} rw rootwait",
        "Memory: 30123456K/32212254K available",
        "rcu: Preemptible hierarchical RCU implementation.",
        "clocksource: arch_sys_counter: mask: 0xffffffffffffff",
        "Run /init as init process",
        f"EXT4-fs ({_rootdev(flashed)}): mounted filesystem with ordered data mode.",
    ]
    return [KERNEL_CLOCK + line for line in lines]


def _rootdev(flashed: Flashed) -> str:
    if flashed.boot_device in ("internal", "mmcblk0p1"):
        return "mmcblk0p1"
    if flashed.boot_device in ("external", "nvme0n1p1") or flashed.boot_device.startswith("nvme"):
        return "nvme0n1p1"
    return flashed.boot_device


def _systemd(release: SimRelease) -> list[str]:
    distro = f"Ubuntu {release.ubuntu}"
    return [
        f"{KERNEL_CLOCK}systemd[1]: systemd 249.11-0ubuntu3 running in system mode",
        f"{KERNEL_CLOCK}systemd[1]: Detected architecture arm64.",
        "",
        f"Welcome to {distro}!",
        "",
        "[  OK  ] Started Journal Service.",
        "[  OK  ] Started nvpower.service - Set hardware to defined power profile.",
        "[  OK  ] Reached target Network.",
        "[  OK  ] Started Serial Getty.",
        "[  OK  ] Reached target Multi-User System.",
    ]


def login_banner(state: DutState, flashed: Flashed) -> list[str]:
    """``Ubuntu 22.04.5 LTS tegra-ubuntu ttyTCU0`` and the blank line after it."""
    release = flashed_release(flashed)
    tty = BOARDS[state.board].console_tty
    return ["", f"Ubuntu {release.ubuntu} {flashed.hostname} {tty}", ""]


def boot_script(state: DutState) -> list[Event]:
    """The timed events of one boot of ``state``'s flashed image.

    Times are simulated seconds; the firmware and kernel timers printed on the lines are
    computed from them, so they are the same in every run (the console plays the events at the
    DUT's speed factor, which changes only when they arrive on this host's clock).
    """
    flashed = state.flashed
    if flashed is None:
        return []
    release = flashed_release(flashed)
    stages = _firmware(state, release)
    stages["uefi"] = _uefi(release)
    stages["kernel"] = _kernel(state, flashed, release)
    stages["systemd"] = _systemd(release)
    seconds = stage_seconds(state)
    extra = slowed_stages(state)
    clock = _Clocks()
    events: list[Event] = []
    t = 0.0
    for stage in ("mb1", "mb2", "tos", "uefi", "kernel", "systemd"):
        lines = stages[stage]
        step = seconds[stage] / max(len(lines), 1)
        for n, line in enumerate(lines):
            if stage == "kernel" and n == 3 and state.has_fault("serial_unplug"):
                events.append(Event(t, "unplug"))
                t += UNPLUG_SECONDS
                events.append(Event(t, "replug"))
            if stage == "kernel" and n == 6 and _panics(state):
                return [*events, *_panic(t)]
            if stage == "kernel" and n == 6 and state.has_fault("boot_hang"):
                return [*events, Event(t, "end", end="dead")]
            if n == len(lines) // 2:
                t += extra.get(stage, 0.0)  # a slow stage stalls once, mid-way
            t += step
            events.append(Event(t, "line", clock.stamp(line, t), stage=stage))
    t += seconds["login"] + extra.get("login", 0.0)
    end = end_of_boot(state, flashed)
    if end == "wizard":
        events.extend(Event(t, "line", line, stage="end") for line in WIZARD_LINES)
    else:
        events.extend(Event(t, "line", line, stage="end") for line in login_banner(state, flashed))
    events.append(Event(t, "end", end=end))
    return events


class _Clocks:
    """Turns the clock placeholders of a line into the timer the firmware or kernel prints."""

    def __init__(self) -> None:
        self.boot_start: float | None = None
        self.kernel_start: float | None = None

    def stamp(self, line: str, t: float) -> str:
        if line.startswith(BOOT_CLOCK):
            if self.boot_start is None:
                self.boot_start = t  # MB1's first line: BOOT_CLOCK_OFFSET after power-on
            ms = round((t - self.boot_start + BOOT_CLOCK_OFFSET) * 1000)
            return f"[{ms // 1000:04d}.{ms % 1000:03d}] " + line.removeprefix(BOOT_CLOCK)
        if line.startswith(KERNEL_CLOCK):
            if self.kernel_start is None:
                self.kernel_start = t
            return f"[{t - self.kernel_start:12.6f}] " + line.removeprefix(KERNEL_CLOCK)
        return line


def stage_seconds(state: DutState) -> dict[str, float]:
    """Simulated seconds per stage of this boot: the base times, ``slow_boot`` and the seeded
    jitter of boot number ``boot_seq``."""
    factor = SLOW_BOOT_FACTOR if state.has_fault("slow_boot") else 1.0
    rng = random.Random(f"boot:{state.boot_seq}")
    return {
        stage: base * factor * (1 + rng.uniform(-JITTER, JITTER))
        for stage, base in STAGE_SECONDS.items()
    }


def slowed_stages(state: DutState) -> dict[str, float]:
    """The extra simulated seconds ``slow_stage`` faults add, by stage."""
    from pytest_jetson.sim.faults import parse_slow_stage

    extra: dict[str, float] = {}
    for value in state.fault_values("slow_stage"):
        slow = parse_slow_stage(value)
        extra[slow.stage] = extra.get(slow.stage, 0.0) + slow.seconds
    return extra


def _panics(state: DutState) -> bool:
    """``kernel_panic``, or this boot is one that ``flaky_boot`` fails."""
    from pytest_jetson.sim.faults import parse_flaky_boot

    if state.has_fault("kernel_panic"):
        return True
    for value in state.fault_values("flaky_boot"):
        flaky = parse_flaky_boot(value)
        if random.Random(f"flaky:{flaky.seed}:{state.boot_seq}").random() < flaky.rate:
            return True
    return False


def _panic(t: float) -> list[Event]:
    return [
        Event(t, "line", f"[    2.873412] {PANIC}", stage="panic"),
        Event(t, "line", "[    2.873501] CPU: 3 PID: 1 Comm: swapper/0 Not tainted", stage="panic"),
        Event(t, "line", f"[    2.873620] ---[ end {PANIC} ]---", stage="panic"),
        Event(t, "end", end="dead"),
    ]
