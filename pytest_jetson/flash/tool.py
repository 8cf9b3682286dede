"""Flashing: pick the flow tool, build its argv from the resolution only, run it, summarise.

The flow-tool matrix: T234 on eMMC/SD (``internal``, ``mmcblk*``) → ``flash.sh``; T234 on
NVMe/USB (``external``, ``nvme*``, ``sda*``) → ``l4t_initrd_flash.sh``; T264 →
``l4t_initrd_flash.sh``. NVMe flags come from the conf as bash evaluated it (R38+ confs set
``EXTERNAL_DEVICE`` and their layouts), else from the release's documented command. No pasted
command is ever accepted and no shell string is ever built.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_jetson.catalogue import ChipFamily
from pytest_jetson.errors import BenchError, ConfigError, DeadlineExceeded, DutError
from pytest_jetson.host.command import Command

if TYPE_CHECKING:
    from pytest_jetson.drivers.side import BenchSide
    from pytest_jetson.host.runner import RunResult

FLASH_SH = "flash.sh"
INITRD_FLASH = "l4t_initrd_flash.sh"
INITRD_FLASH_PATHS = ("l4t_initrd_flash.sh", "tools/kernel_flash/l4t_initrd_flash.sh")
"""Where the initrd flow tool may live, in order of preference (only R39.2 has the first)."""

_INTERNAL = re.compile(r"internal|mmcblk\d+p\d+")
_EXTERNAL = re.compile(r"external|nvme\d+n\d+p\d+|sd[a-z]\d*")

# Lines that end a flash badly, as NVIDIA's flash tools print them; "failed to read rcm_state"
# is benign.
_FAILURE = re.compile(
    r"(Error: .*|.*[Ff]ailed flashing.*|Failed flashing .*|.*USB communication failed.*"
    r"|ERROR: might be timeout in USB write\.|Boot Rom communication failed"
    r"|Error flashing .*|Flash complete \(WITH FAILURES\)|Reboot failed\.|No devices to flash"
    r"|Error, too many devices in RCM mode|\*\*\* ERROR: .*|ERROR .*)"
)
_BENIGN = re.compile(r"ERROR: failed to read rcm_state")
RESET_LINE = re.compile(r"Coldbooting the device|^Reboot target\s*$")
"""The flow tool's line saying it resets the board (T234: the boot starts here)."""
_PHASE = re.compile(r"^\s*\*?\s*(Step \d+: [^*]*?)\s*\*?\s*$|^\*\*\* (.*?) \*\*\*$")


class FlashFailed(DutError):
    """The flow tool exited non-zero (never retried); ``returncode`` is its exit code."""

    def __init__(self, message: str, *, output: str = "", returncode: int) -> None:
        self.returncode = returncode
        super().__init__(message, output=output)


class FlashUsbLost(BenchError):
    """The recovery USB link went away mid-flash (an infrastructure failure, not retried)."""

    def __init__(self, message: str, *, output: str = "", returncode: int) -> None:
        self.returncode = returncode
        super().__init__(message, output=output)


_USB_LOST = re.compile(
    r"USB communication failed|Check if device is in recovery|No devices to flash"
)


@dataclass(frozen=True)
class FlowChoice:
    """The flow tool chosen for a chip and boot device, and its argv (relative to LFT)."""

    tool: str
    """``flash.sh`` or ``l4t_initrd_flash.sh``."""
    tool_path: str
    """The tool's path inside LFT (``tools/kernel_flash/l4t_initrd_flash.sh``)."""
    argv: tuple[str, ...]
    rootdev: str
    env: tuple[tuple[str, str], ...] = ()
    """``NAME=value`` words the tool is given: the board identity when the EEPROM left a field
    empty (see :func:`pytest_jetson.drivers.eeprom.flash_identity`), ``ROOTFS_AB=1``."""
    layouts: tuple[str, ...] = ()
    """Partition layouts the argv names (``-c``, ``-p "-c ..."``), relative to LFT."""

    @property
    def command(self) -> tuple[str, ...]:
        """The command as NVIDIA writes it: ``NAME=value`` words, then the argv."""
        from pytest_jetson.host.runner import assignments

        return (*assignments(dict(self.env)), *self.argv)


def flow_tool(chip: ChipFamily, boot_device: str | None) -> str | None:
    """The flow tool for a chip and boot device (None when the boot device is unusable)."""
    if not boot_device:
        return None
    if _EXTERNAL.fullmatch(boot_device) or chip.post_flash_reset:
        return INITRD_FLASH
    return FLASH_SH if _INTERNAL.fullmatch(boot_device) else None


def boot_device_choices(chip: ChipFamily, conf_vars: Mapping[str, str]) -> list[str]:
    """The boot devices the conf supports, for a refusal that lists them."""
    if chip.post_flash_reset:  # T264: NVMe only
        choices = ["external", "nvme0n1p1"]
    else:
        choices = ["internal", "mmcblk0p1", "external", "nvme0n1p1", "sda1"]
    device = conf_vars.get("EXTERNAL_DEVICE")
    if device and device not in choices:
        choices.append(device)
    return choices


def choose_flow(
    chip: ChipFamily,
    board: str,
    boot_device: str | None,
    *,
    lft: Path,
    conf_vars: Mapping[str, str],
    release_major: int,
    usb_port: str | None = None,
    identity: Mapping[str, str] | None = None,
    rootfs_ab: bool = False,
) -> FlowChoice:
    """Choose the flow tool and build its argv from the resolution (never from user text).

    ``conf_vars`` are the conf's values as bash evaluated them for this board (the external
    device and layouts of R38+ confs); where the conf names no external layout the release's
    documented form applies (:data:`~pytest_jetson.flash.documented.DOCUMENTED_NVME`).
    ``usb_port`` (the bench's RCM port path, ``1-4``) becomes ``--usb-instance``, so the tool
    flashes this DUT even when other Jetsons are in recovery on the same host. ``identity``
    (``BOARDID BOARDSKU FAB BOARDREV``, all or nothing) and ``rootfs_ab`` (``ROOTFS_AB=1``)
    are given to the tool as variables: flash.sh and l4t_initrd_flash.sh source the conf
    again themselves.
    """
    _check_boot_device(chip, boot_device, conf_vars)
    assert boot_device is not None
    instance = ("--usb-instance", usb_port) if usb_port else ()
    env = (*(identity or {}).items(), *((("ROOTFS_AB", "1"),) if rootfs_ab else ()))
    if _EXTERNAL.fullmatch(boot_device) is None:
        argv = (f"./{FLASH_SH}", *instance, board, boot_device)
        return FlowChoice(FLASH_SH, FLASH_SH, argv, boot_device, tuple(env))
    tool_path = next((p for p in INITRD_FLASH_PATHS if (lft / p).is_file()), INITRD_FLASH_PATHS[1])
    flags, layouts, rootdev = _initrd_flags(
        chip, boot_device, conf_vars, release_major=release_major, rootfs_ab=rootfs_ab
    )
    flags += [*instance, "--showlogs", "--network", "usb0"]
    argv = (f"./{tool_path}", *flags, board, rootdev)
    return FlowChoice(INITRD_FLASH, tool_path, argv, rootdev, tuple(env), layouts)


def _check_boot_device(
    chip: ChipFamily, boot_device: str | None, conf_vars: Mapping[str, str]
) -> None:
    choices = ", ".join(boot_device_choices(chip, conf_vars))
    if not boot_device:
        raise ConfigError(
            "no boot device: set boot_device in the profile or the DUT's bench entry "
            f"(the conf supports: {choices})",
            key="boot_device",
        )
    if not (_INTERNAL.fullmatch(boot_device) or _EXTERNAL.fullmatch(boot_device)):
        raise ConfigError(
            f"unsupported boot device {boot_device!r} (the conf supports: {choices})",
            key="boot_device",
        )
    if chip.post_flash_reset and not _EXTERNAL.fullmatch(boot_device):
        raise ConfigError(
            f"{chip.marketing} ({chip.catalogue_id}) boots from NVMe: boot device "
            f"{boot_device!r} is not supported (use one of: {choices})",
            key="boot_device",
        )


def _initrd_flags(
    chip: ChipFamily,
    boot_device: str,
    conf_vars: Mapping[str, str],
    *,
    release_major: int,
    rootfs_ab: bool,
) -> tuple[list[str], tuple[str, ...], str]:
    """``--external-device``/``-c``/``-p`` flags, the layouts they name, and the rootdev."""
    from pytest_jetson.flash.documented import DOCUMENTED_NVME

    device = boot_device if boot_device != "external" else None
    conf_device = conf_vars.get("EXTERNAL_DEVICE")
    if conf_device:
        # R38+ confs carry their own external layout (A/B branches included) and take
        # `<board> external`.
        layout = conf_vars.get("EXTERNAL_PT_LAYOUT")
        if not layout:
            raise ConfigError(
                "the conf sets EXTERNAL_DEVICE but no EXTERNAL_PT_LAYOUT: cannot tell "
                "l4t_initrd_flash.sh which layout to write",
                key="EXTERNAL_PT_LAYOUT",
            )
        flags = ["--external-device", device or conf_device, "-c", layout]
        layouts = [layout]
        internal = conf_vars.get("INTERNAL_PT_LAYOUT")
        if internal:
            flags += ["-p", f"-c {internal}"]
            layouts.append(internal)
        return flags, tuple(layouts), "external"
    form = DOCUMENTED_NVME.get(release_major)
    if form is None or chip.post_flash_reset:
        raise ConfigError(
            f"the conf names no EXTERNAL_DEVICE and R{release_major} has no documented "
            f"NVMe flash command for {chip.catalogue_id} in pytest-jetson's table",
            key="boot_device",
        )
    layout = form.layout_ab if rootfs_ab else form.layout
    internal = form.internal(conf_vars.get("target_board") or "generic")
    flags = ["--external-device", device or "nvme0n1p1", "-c", layout, "-p", f"-c {internal}"]
    return flags, (layout, internal), form.rootdev


def failure_line(output: str) -> str | None:
    """The line that says why a flash failed (the last failure-shaped, non-benign line)."""
    found = None
    for line in output.splitlines():
        text = line.strip()
        if _FAILURE.fullmatch(text) and not _BENIGN.search(text):
            found = text
    return found


def usb_lost_line(output: str) -> str | None:
    """The line showing the bench lost the device, when it comes before any product failure
    line, else None.

    A tool that loses its USB link goes on printing failures of its own: AGX Orin's flash.sh
    ends every tegraflash failure with ``Failed flashing generic.``, after tegraflash's
    ``USB communication failed``. What happened first decides, never the last line alone."""
    for line in output.splitlines():
        text = line.strip()
        if _USB_LOST.search(text):
            return text
        if _FAILURE.fullmatch(text) and not _BENIGN.search(text):
            return None
    return None


class Progress:
    """Turns flow-tool output into a phase name and elapsed time for a progress line."""

    def __init__(self, emit: Callable[[str], None], *, every: float = 10.0) -> None:
        self._emit = emit
        self._every = every
        self._start = time.monotonic()
        self._last = 0.0
        self.phase = "starting"
        self.phases: list[tuple[str, float]] = []

    def __call__(self, line: str) -> None:
        """Feed one output line."""
        match = _PHASE.match(line.strip())
        now = time.monotonic() - self._start
        if match:
            self.phase = (match.group(1) or match.group(2)).strip()
            self.phases.append((self.phase, round(now, 3)))
            self._show(now)
        elif now - self._last >= self._every:
            self._show(now)

    def _show(self, now: float) -> None:
        self._last = now
        self._emit(f"flashing: {self.phase} ({now:.0f}s elapsed)")


@dataclass
class FlashSummary:
    """Everything a later step (or a human) needs to know about one flash."""

    dut: str
    plan: Mapping[str, Any]
    plan_digest: str
    outcome: str = "pending"
    """``pending``, ``planned`` (``--jetson-plan-only``), ``flashed``, ``failed``, ``timeout``,
    ``interrupted`` or ``refused``."""
    steps: list[dict[str, Any]] = field(default_factory=list)
    boot_timeline: dict[str, float | str] = field(default_factory=dict)
    """Stage → seconds after the reset, or ``"not_observed"`` (its marker was lost)."""
    message: str = ""
    teardown: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    bench_host: str = "local"
    """Where the image was flashed from (``local`` or ``host:/path/Linux_for_Tegra``)."""
    tree_lock: dict[str, Any] = field(default_factory=dict)
    """The tree lock the flow tool ran under: tree, lock file, seconds waited, who held it."""
    image_build: dict[str, Any] = field(default_factory=dict)
    """Build once, flash many: ``role`` (``built`` this DUT ran ``--no-flash``; ``reused`` it
    flashed the images another DUT built), ``key`` (the build's) and ``built_by`` (the DUT that
    built them). Empty for a one-run flash (flash.sh, or a remote bench)."""
    recovery: list[dict[str, Any]] = field(default_factory=list)
    """Each climb of the recovery ladder: the symptom and every rung tried (result, seconds)."""
    image_digest: str = ""
    """What lands on the board (tree contents included): the host record compares it."""
    reflash: dict[str, Any] = field(default_factory=dict)
    """``--jetson-flash=auto``: ``skip``, ``reason`` and ``message`` of the decision."""
    profile: str = ""
    """The DUT's profile by name (the promotion gate pairs the DUTs of two runs by it)."""
    target: str = ""
    """The profile's target board."""
    boot_cycles: dict[str, Any] = field(default_factory=dict)
    """``--jetson-boot-cycles``: every cycle, per-stage statistics and the failures."""

    def add_step(
        self,
        name: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        log: Path | None = None,
        duration: float | None = None,
        outcome: str = "",
    ) -> None:
        """Record one step (a command line, its exit code, its log)."""
        self.steps.append(
            {
                "step": name,
                "command": list(argv),
                "returncode": returncode,
                "log": str(log) if log else None,
                "duration_s": None if duration is None else round(duration, 3),
                "outcome": outcome,
            }
        )

    def write(self, path: Path) -> None:
        """Persist as JSON (atomically) where validation re-reads it."""
        tmp = path.with_suffix(".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True, default=str) + "\n")
            tmp.replace(path)
        except OSError as exc:  # a full disk, a folder gone: no half-written file is left
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise BenchError(f"cannot write the summary {path}: {exc.strerror or exc}") from None

    @classmethod
    def read(cls, path: Path) -> FlashSummary:
        """Load a summary written by :meth:`write`."""
        data = json.loads(path.read_text())
        return cls(**data)


def run_flash(
    side: BenchSide,
    choice: FlowChoice,
    *,
    timeout: float,
    log: Path,
    on_line: Callable[[str], None] | None = None,
    sudo: bool = True,
) -> RunResult:
    """Run the flow tool once (never retried) in the side's tree; raise DutError on a
    non-zero exit.

    A deadline kills the tool's whole process group and raises
    :class:`~pytest_jetson.errors.DeadlineExceeded`.
    """
    result = side.transport.run(
        Command(
            choice.argv,
            cwd=side.lft,
            timeout=timeout,
            assign=dict(choice.env) or None,
            what=f"{choice.tool} to finish flashing",
            log=log,
            on_line=on_line,
            sudo=sudo,
        )
    )
    if result.returncode != 0:
        lost = usb_lost_line(result.output)
        why = lost or failure_line(result.output) or f"{choice.tool} exited {result.returncode}"
        error = FlashUsbLost if lost is not None else FlashFailed
        raise error(
            f"flash failed: {why} ({choice.tool} exited {result.returncode}; not retried)\n"
            f"--- last lines ---\n{result.tail()}\n--- full log: {log}",
            output=result.output,
            returncode=result.returncode,
        )
    return result


__all__ = [
    "FLASH_SH",
    "INITRD_FLASH",
    "RESET_LINE",
    "DeadlineExceeded",
    "FlashFailed",
    "FlashSummary",
    "FlowChoice",
    "Progress",
    "boot_device_choices",
    "choose_flow",
    "failure_line",
    "flow_tool",
    "run_flash",
]
