"""``flash.sh`` and ``tools/kernel_flash/l4t_initrd_flash.sh``, as NVIDIA's behave.

Both check that the DUT is in RCM, read its EEPROM the way flash.sh does (only when ``FAB`` is
empty: with ``FAB`` set, ``BOARDID``/``BOARDSKU``/``BOARDREV`` come only from the environment),
source the board conf in bash with ``ROOTFS_AB`` from the environment (so an unsupported SKU
fails with the conf's own error and the layout follows the A/B branches), stop on a missing
``kernel/Image`` (``Error: missing kernel_image``) and, for the initrd flow, on a missing initrd
the conf names in ``INITRD``, print their phases over a simulated time and end with NVIDIA's
success or failure lines. A successful flash writes what was flashed (and the layout used)
into the DUT state; T234 then boots it, T264 stays in recovery until ``boardctl reset``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.sim.boards import SimEeprom
from pytest_jetson.sim.image import snapshot
from pytest_jetson.sim.state import DutState, StateStore, power_cycle
from pytest_jetson.sim.tools import _conf
from pytest_jetson.sim.tools._env import TegraflashClock, ToolEnv, err, hang, out
from pytest_jetson.sim.tools.nvautoflash import ecid, read_eeprom_lines

USB_LOST = "USB communication failed.Check if device is in recovery"
_ARG_OPTIONS = frozenset(
    {"-b", "-c", "-d", "-e", "-f", "-i", "-k", "-m", "-n", "-o", "-p", "-s", "-t", "-u", "-v"}
    | {"-x", "-y", "-B", "-C", "-F", "-G", "-I", "-K", "-L", "-M", "-N", "-P", "-R", "-S"}
    | {"-T", "-U", "-Z", "--usb-instance", "--bup-type", "--external-device", "--network"}
    | {"--direct", "--massflash", "--uefi-keys", "--uefi-enc", "--image", "--chip-sku"}
    | {"--user_key", "--rcm-boot-size", "--append", "--device-instance"}
)
_INITRD_FLAGS = frozenset(
    {"--showlogs", "--flash-only", "--no-flash", "--initrd", "--erase-all", "--reuse-package"}
    | {"--use-backup-image", "--external-only", "--qspi-only", "--no-reboot", "--sparse"}
    | {"--keep", "--rcm-boot"}
)
_INITRD_ARGS = frozenset(
    {"--external-device", "-c", "-p", "--network", "--usb-instance", "-k", "--massflash"}
    | {"--direct", "-S", "--pv-crt", "--pv-enc", "--uefi-keys", "--uefi-enc", "--device-instance"}
)


@dataclass(frozen=True)
class FlashArgs:
    """The parts of a flow tool's argv the simulation acts on."""

    board: str
    rootdev: str
    no_flash: bool = False
    flash_only: bool = False
    usb_instance: str | None = None
    external_device: str | None = None
    layout: str | None = None
    """``-c <layout>`` of l4t_initrd_flash.sh."""


def _parse(argv: list[str], arg_options: frozenset[str], flags: frozenset[str]) -> FlashArgs | str:
    """The args, or the offending token when argv is unusable (``flags`` empty: any flag)."""
    positional: list[str] = []
    opts: dict[str, str] = {}
    no_flash = False
    flash_only = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in arg_options:
            if i + 1 >= len(argv):
                return a
            opts[a] = argv[i + 1]
            i += 2
            continue
        if a == "--no-flash":
            no_flash = True
        elif a == "--flash-only":
            flash_only = True
        elif a.startswith("-"):
            if flags and a not in flags:
                return a
        else:
            positional.append(a)
        i += 1
    if len(positional) != 2:
        return "<board> <rootdev>"
    return FlashArgs(
        board=positional[0],
        rootdev=positional[1],
        no_flash=no_flash,
        flash_only=flash_only,
        usb_instance=opts.get("--usb-instance"),
        external_device=opts.get("--external-device"),
        layout=opts.get("-c"),
    )


def _eeprom_from_env(eeprom: SimEeprom) -> tuple[SimEeprom, bool]:
    """The board values flash.sh dispatches on, and whether it read the EEPROM for them.

    flash.sh reads the EEPROM only when ``FAB`` is empty (or ``FORCE_ACCESS`` is set). With
    ``FAB`` set, ``BOARDID``, ``BOARDSKU`` and ``BOARDREV`` are taken from the environment
    alone, empty when not given. Otherwise each of them that is non-empty replaces the value
    read. ``CHIP_SKU`` likewise skips the chip-info read.
    """
    env = os.environ
    chip_sku = env.get("CHIP_SKU") or eeprom.chip_sku
    if env.get("FAB") and not env.get("FORCE_ACCESS"):
        given = dataclasses.replace(
            eeprom,
            board_id=env.get("BOARDID", ""),
            fab=env["FAB"],
            sku=env.get("BOARDSKU", ""),
            rev=env.get("BOARDREV", ""),
            chip_sku=chip_sku,
        )
        return given, False
    read = dataclasses.replace(
        eeprom,
        board_id=env.get("BOARDID") or eeprom.board_id,
        fab=env.get("FAB") or eeprom.fab,
        sku=env.get("BOARDSKU") or eeprom.sku,
        rev=env.get("BOARDREV") or eeprom.rev,
        chip_sku=chip_sku,
    )
    return read, True


def _banner(env: ToolEnv) -> None:
    values = {"BSP_BRANCH": f"R{env.release.major}", "BSP_MAJOR": "", "BSP_MINOR": ""}
    major, _, minor = env.release.revision.partition(".")
    values.update(BSP_MAJOR=major, BSP_MINOR=minor)
    bsp_version = env.lft / "nv_tegra" / "bsp_version"
    if bsp_version.is_file():
        for line in bsp_version.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in values:
                values[key.strip()] = value.strip().strip('"')
    branch = values["BSP_BRANCH"]
    branch = branch if branch.startswith("R") else f"R{branch}"
    out("#" * 79)
    out("# L4T BSP Information:")
    out(f"# {branch} , REVISION: {values['BSP_MAJOR']}.{values['BSP_MINOR']}")
    out("# User release: 0.0")
    out("#" * 79)


def _target(env: ToolEnv, usb_instance: str | None) -> StateStore | None:
    devices = env.rcm_devices(usb_instance)
    return devices[0] if len(devices) == 1 else None


def _target_lines(state: DutState, board: str) -> None:
    soc = "Tegra 234" if state.chip == "t234" else "Tegra 264"
    out(f"ECID is {ecid(state)}")
    out("#" * 79)
    out("# Target Board Information:")
    out(f"# Name: {board}, Board Family: generic, SoC: {soc},")
    out("# OpMode: production, Boot Authentication: NS,")
    out("#" * 79)


def _board_lines(state: DutState, eeprom: SimEeprom) -> None:
    chip = "0x23" if state.chip == "t234" else "0x26"
    line = (
        f"Board ID({eeprom.board_id}) version({eeprom.fab}) sku({eeprom.sku}) "
        f"revision({eeprom.rev})"
    )
    if state.chip == "t264":
        line += f" Platform ID({chip}) Board Boot Device(nvme)"
    out(line)
    out(
        f"Chip SKU({eeprom.chip_sku}) ramcode({eeprom.ramcode}) fuselevel(fuselevel_production) "
        f"board_FAB({eeprom.fab})"
    )


@dataclass(frozen=True)
class Prepared:
    """The DUT, the board values flash.sh dispatched on and what the conf gave."""

    store: StateStore
    eeprom: SimEeprom
    conf: _conf.ConfResult


def _rootfs_ab() -> bool:
    return os.environ.get("ROOTFS_AB") == "1"


def _kernel_image(env: ToolEnv, conf: _conf.ConfResult) -> Path:
    """flash.sh's kernel_image: ``DFLT_KERNEL_IMAGE``, else ``DFLT_KERNEL`` (a bare name is
    under ``kernel/``), else ``kernel/Image``."""
    name = conf.variables.get("DFLT_KERNEL_IMAGE") or conf.variables.get("DFLT_KERNEL") or ""
    if not name:
        return env.lft / "kernel" / "Image"
    path = Path(name)
    if path.name == name:
        return env.lft / "kernel" / name
    return path if path.is_absolute() else env.lft / path


OFFLINE = ("BOARDID", "FAB", "BOARDSKU", "BOARDREV")
"""With all of these set, ``--no-flash`` builds offline: no device is probed or read."""


def _offline(args: FlashArgs) -> bool:
    return args.no_flash and all(os.environ.get(name) for name in OFFLINE)


def _prepare(env: ToolEnv, args: FlashArgs, tool: str) -> Prepared | int:
    """Probe, read the EEPROM and dispatch the conf; an exit code on failure.

    Offline (``--no-flash`` with every board-identity variable set) nothing is probed: the
    images are built for the board the variables name, the way NVIDIA documents building once
    for many devices.
    """
    store = env.store if _offline(args) else _target(env, args.usb_instance)
    if store is None:
        if tool == "flash.sh":
            err("Error: probing the target board failed.")
        elif len(env.rcm_devices(args.usb_instance)) > 1:
            err("Error, too many devices in RCM mode")
        else:
            err("No devices to flash")
        return 1
    state = store.read()
    if not _offline(args):
        _target_lines(state, args.board)
    eeprom, read = _eeprom_from_env(state.eeprom)
    if read:
        read_eeprom_lines(env, state, header=False)
    _board_lines(state, eeprom)
    result = _conf.dispatch(env.lft, args.board, eeprom, rootfs_ab=_rootfs_ab())
    for line in result.output:
        (err if result.rc else out)(line)
    if result.rc != 0:
        return 1
    chip = 0x23 if state.chip == "t234" else 0x26
    if result.chip_id is not None and result.chip_id != chip:
        err(
            f"Error: The Actual SoC ID(0x{chip:02x}) mismatches intended {args.board} "
            f"SoC ID(0x{result.chip_id:02x})."
        )
        return 1
    kernel = _kernel_image(env, result)
    if not kernel.is_file():
        err(f"Error: missing kernel_image ({kernel}).")
        return 1
    return Prepared(store, eeprom, result)


RUNS_DIR = "bootloader/.sim-flash-runs"
"""Where each simulated flow-tool run that builds into the tree leaves its pid while it runs."""
CLASH = (
    "Error: {path} changed while it was being signed: another flash runs in this "
    "Linux_for_Tegra tree"
)


INSTANCE_RUNS = "temp_initrdflash/.sim-instance0-runs"
"""Where each simulated initrd flash leaves its pid while it uses device instance 0."""
INSTANCE_CLASH = (
    "Error: {path} was removed by another flash of device instance 0 in this Linux_for_Tegra "
    "tree (its initrd also answers on fc00:1:1:0::2)"
)


def _others_building(env: ToolEnv, folder: str = RUNS_DIR) -> list[int]:
    """Live flow-tool runs (other than this one) registered in ``folder`` of this tree
    (building into it, by default)."""
    runs = env.lft / folder
    found = []
    for entry in runs.iterdir() if runs.is_dir() else ():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and pid != os.getpid() and _alive(pid):
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _build_images(env: ToolEnv, board: str) -> bool:
    """Build into the tree (``bootloader/system.img``, ``flashcmd.txt``, signed files); False
    when another run built into the same tree meanwhile: both runs' files are then a mix, as
    with NVIDIA's tools, which write them in place."""
    mine = env.lft / RUNS_DIR / str(os.getpid())
    mine.parent.mkdir(exist_ok=True)
    mine.touch()
    try:
        clash = bool(_others_building(env))
        _build_lines(env, board)
        clash = clash or bool(_others_building(env))
    finally:
        mine.unlink(missing_ok=True)
    if clash:
        err(CLASH.format(path=env.lft / "bootloader" / "system.img"))
    return not clash


def _build_lines(env: ToolEnv, board: str) -> None:
    steps = (
        "Copying nvdisp-init.bin... done.",
        f"Existing bootloader({env.lft / 'bootloader'}) reused.",
        "Making Boot image... done.",
        "Making system.img... ",
        f"\tpopulating rootfs from {env.lft / 'rootfs'} ... done.",
        "\tSync'ing system.img ... done.",
        "\tConverting RAW image to Sparse image... done.",
        "system.img built successfully. ",
        f"Existing tbcfile({env.lft / 'bootloader' / 'uefi_jetson.bin'}) reused.",
        f"copying dtbfile for {board}... done.",
    )
    for line in steps:
        env.sleep(0.05)
        out(line)


def _flash_lines(env: ToolEnv, store: StateStore, *, fail_at: str | None) -> int | None:
    """tegraflash's flashing phase; an exit code when a fault ends it."""
    clock = TegraflashClock(env, 0.08)
    steps = (
        "Generating RCM messages",
        "Sending bct_br",
        "Sending mb1",
        "Boot Rom communication completed",
        "Sending mb2",
        "Retrieving storage infomation",
        "Flashing the device",
        "Writing partition A_mb1 with mb1_t234_prod_aligned_sigheader.bin.encrypt",
        "Writing partition secondary_gpt with gpt_secondary_3_0.bin",
        "Writing partition APP with system.img",
        "Flashing completed",
        "Coldbooting the device",
    )
    for n, step in enumerate(steps):
        if n == 5 and fail_at is not None:
            return _fault_in_flash(store, clock, fail_at)
        clock.line(step, 12.0 if "APP" in step else 0.8)
    return None


def _fault_in_flash(store: StateStore, clock: TegraflashClock, fault: str) -> int:
    if fault == "flash_hang":
        hang()
    if fault == "usb_drop_mid_flash":
        store.replace(usb_dropped=True)
        clock.line(USB_LOST, 5.0)
    else:
        clock.line("ERROR: might be timeout in USB write.", 5.0)
    return 1


def _active_fault(state: DutState) -> str | None:
    for fault in ("flash_hang", "usb_drop_mid_flash", "flash_fail"):
        if state.has_fault(fault):
            return fault
    return None


def _record(
    env: ToolEnv, store: StateStore, args: FlashArgs, eeprom: SimEeprom, tool: str, layout: str
) -> DutState:
    flashed = snapshot(
        env.lft,
        board=args.board,
        sku=eeprom.sku,
        fab=eeprom.fab,
        boot_device=args.external_device or args.rootdev,
        tool=tool,
        tree=env.release,
    )
    flashed = dataclasses.replace(flashed, layout=layout, rootfs_ab=_rootfs_ab())
    return store.update(lambda s: dataclasses.replace(s, flashed=flashed))


def _boot_after_flash(store: StateStore) -> None:
    """T234 coldboots into the new image; T264 stays in recovery until ``boardctl reset``."""
    store.update(lambda s: power_cycle(s, "on") if s.chip == "t234" else s)


def flash_main(env: ToolEnv, argv: list[str]) -> int:
    """Run ``flash.sh`` with ``argv``; return its exit code."""
    args = _parse(argv, _ARG_OPTIONS, frozenset())
    if isinstance(args, str):
        err(f"Error: invalid option or argument: {args}")
        err("Usage: sudo ./flash.sh [options] <target_board> <rootdev>")
        return 1
    if not (env.lft / f"{args.board}.conf").exists():
        err(f"Error: Invalid target board - {args.board}.")
        return 1
    _banner(env)
    prepared = _prepare(env, args, "flash.sh")
    if isinstance(prepared, int):
        return prepared
    store = prepared.store
    if not _build_images(env, args.board):
        return 1
    if args.no_flash:
        out("*** no-flash flag enabled. Exiting now... ***")
        return 0
    out("*** Flashing target device started. ***")
    out(
        f"./tegraflash.py --bl uefi_jetson_with_dtb.bin --chip 0x{env.board.chip.chip_id:02x} "
        f'--cfg flash.xml --cmd "flash; reboot"'
    )
    state = store.read()
    if _flash_lines(env, store, fail_at=_active_fault(state)) is not None:
        err("Failed flashing generic.")
        return 1
    _record(
        env, store, args, prepared.eeprom, "flash.sh", prepared.conf.variables.get("EMMC_CFG", "")
    )
    out("*** The target generic has been flashed successfully. ***")
    out(_reset_hint(args.rootdev))
    _boot_after_flash(store)
    return 0


def _reset_hint(rootdev: str) -> str:
    if rootdev in ("internal", "mmcblk0p1", "mmcblk3p1") or rootdev.startswith("mmcblk"):
        return "Reset the board to boot from internal eMMC."
    if rootdev.startswith("eth") or rootdev == "nfs":
        return f"Make target nfsroot({rootdev}) exported on the network and reset the board to boot"
    return (
        "Make the target filesystem available to the device and reset the board to boot "
        f"from external {rootdev}."
    )


def _box(text: str) -> None:
    width = len(text) + 4
    out("*" * width)
    out("*" + " " * (width - 2) + "*")
    out(f"*  {text} *")
    out("*" + " " * (width - 2) + "*")
    out("*" * width)


def initrd_main(env: ToolEnv, argv: list[str]) -> int:
    """Run ``l4t_initrd_flash.sh`` with ``argv``; return its exit code."""
    args = _parse(argv, _INITRD_ARGS, _INITRD_FLAGS)
    if isinstance(args, str):
        err(f"Unknown option or missing argument: {args}")
        err("Usage: sudo ./tools/kernel_flash/l4t_initrd_flash.sh [options] <board> <rootdev>")
        return 1
    if not (env.lft / f"{args.board}.conf").exists():
        err(f"Error: Invalid target board - {args.board}.")
        return 1
    if args.layout is not None and not (env.lft / args.layout).is_file():
        err(f"Error: partition layout {args.layout} does not exist")
        return 1
    if args.flash_only:
        return _flash_only(env, args)
    _box("Step 1: Generate flash packages")
    out("Create folder to store images to flash")
    out("Generate image for internal storage devices")
    _banner(env)
    prepared = _prepare(env, args, "l4t_initrd_flash.sh")
    if isinstance(prepared, int):
        return prepared
    initrd = prepared.conf.file(env.lft, "INITRD", "rootfs/boot/initrd")
    if not initrd.is_file():
        err(f"cp: cannot stat '{initrd}': No such file or directory")
        err("Error: generating flash packages failed.")
        return 1
    store = prepared.store
    if not _build_images(env, args.board):
        err("Error: generating flash packages failed.")
        return 1
    out("Success")
    _box("Step 2: Generate rcm boot commandline")
    out("Success")
    _save_build(env, args, prepared.eeprom)
    if args.no_flash:
        out("Finish generating flash package.")
        out("Put device in recovery mode, run with option --flash-only to flash device.")
        return 0
    return _flash_step(env, store, args, prepared.eeprom)


FLASH_PARAM = "tools/kernel_flash/initrdflashparam.txt"
"""Where the build step saves the flash parameters ``--flash-only`` reads back."""
BUILT = "tools/kernel_flash/.sim-built.json"
"""The simulation's note of the board identity the saved images were built for."""


def _save_build(env: ToolEnv, args: FlashArgs, eeprom: SimEeprom) -> None:
    param = env.lft / FLASH_PARAM
    param.parent.mkdir(parents=True, exist_ok=True)
    device = f"--external-device {args.external_device} " if args.external_device else ""
    param.write_text(f"{device}--network usb0 {args.board} {args.rootdev}\n")
    (env.lft / BUILT).write_text(json.dumps(dataclasses.asdict(eeprom)))
    out(f"Save initrd flashing command parameters to {param}")


def _flash_only(env: ToolEnv, args: FlashArgs) -> int:
    """``--flash-only``: flash the images a ``--no-flash`` run saved, nothing is built. Without
    a saved build the parameter file is missing and the tool fails."""
    devices = env.rcm_devices(args.usb_instance)
    if not devices:
        out("No devices to flash")
        return 1
    if len(devices) > 1:
        out("Too many devices in RCM mode")
        return 1
    param = env.lft / FLASH_PARAM
    built = env.lft / BUILT
    if not param.is_file() or not built.is_file():
        err(f"cat: {param}: No such file or directory")
        err(f"awk: fatal: cannot open file `{param}' for reading: No such file or directory")
        return 1
    words = param.read_text().split()
    eeprom = SimEeprom(**json.loads(built.read_text()))
    saved = dataclasses.replace(args, board=words[-2], rootdev=words[-1])
    if _others_building(env):
        err(CLASH.format(path=env.lft / FLASH_PARAM))
        return 1
    return _flash_step(env, devices[0], saved, eeprom)


def _flash_step(env: ToolEnv, store: StateStore, args: FlashArgs, eeprom: SimEeprom) -> int:
    """Step 3 as one run of NVIDIA's l4t_initrd_flash.sh does it: always as device instance 0
    (its working folder ``temp_initrdflash/bootloader0``, removed at the end, and the initrd's
    USB network ``fc00:1:1:0::``). Two runs at once in one tree share both: the one still
    flashing when the other started or ended fails."""
    mine = env.lft / INSTANCE_RUNS / str(os.getpid())
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.touch()
    try:
        clash = bool(_others_building(env, INSTANCE_RUNS))
        rc = _flash_step_alone(env, store, args, eeprom, clash)
    finally:
        mine.unlink(missing_ok=True)
    return rc


def _flash_step_alone(
    env: ToolEnv, store: StateStore, args: FlashArgs, eeprom: SimEeprom, clash: bool
) -> int:
    _box("Step 3: Start the flashing process")
    state = store.read()
    fault = _active_fault(state)
    clock = TegraflashClock(env, 0.08)
    for step in ("Generating RCM messages", "Sending bct_br", "Sending mb1", "Sending mb2"):
        if step == "Sending mb2" and fault == "usb_drop_mid_flash":
            _fault_in_flash(store, clock, fault)
            err("Cleaning up...")
            return 1
        clock.line(step, 0.5)
    store.update(lambda s: dataclasses.replace(s, mode="initrd"))
    for _ in range(2):
        env.sleep(0.1)
        out("Waiting for target to boot-up...")
    out("Waiting for device to expose ssh ......")
    if fault == "flash_hang":
        hang()
    target_log = _target_flash(env, state, args, fault)
    log = _write_initrd_log(env, state, target_log)
    if clash or _others_building(env, INSTANCE_RUNS):
        err(INSTANCE_CLASH.format(path=env.lft / "temp_initrdflash" / "bootloader0"))
        fault = fault or "instance_clash"
    if fault is not None:
        out("Flash complete (WITH FAILURES)")
        out("Cleaning up...")
        out(f"Log is saved to Linux_for_Tegra/initrdlog/{log.name}")
        return 1
    _record(env, store, args, eeprom, "l4t_initrd_flash.sh", args.layout or "")
    out("Reboot target")
    if state.chip == "t234":
        _boot_after_flash(store)
    else:
        store.update(lambda s: power_cycle(s, "recovery"))
    out("Success")
    out("Cleaning up...")
    out(f"Log is saved to Linux_for_Tegra/initrdlog/{log.name}")
    return 0


def _target_flash(env: ToolEnv, state: DutState, args: FlashArgs, fault: str | None) -> list[str]:
    """Print (and return) the target-side flashing log."""
    lines: list[str] = []

    def say(line: str) -> None:
        env.sleep(0.1)
        out(line)
        lines.append(line)

    say(f"Run command: flash on fc00:1:1:{state.usb_port.split('-')[-1]}::2")
    if state.chip == "t264":
        say(
            f"{env.lft / 'unified_flash' / 'tools' / 'flash' / 'flash_bsp_images.py'} "
            f"-b jetson-t264 -l {env.lft / 'unified_flash' / 'out'} --board {args.board}"
        )
    if fault == "flash_fail":
        say("Error flashing qspi")
        return lines
    say("Successfully flash the qspi")
    if args.external_device or args.rootdev == "external" or state.chip == "t264":
        say("Successfully flash the external device")
    else:
        say("Successfully flash the emmc")
    if state.chip == "t264":
        say("Flashing finish")
    say("Flashing success")
    say("The device is going to reboot in 5 seconds....")
    return lines


def _write_initrd_log(env: ToolEnv, state: DutState, lines: list[str]) -> Path:
    logdir = env.lft / "initrdlog"
    logdir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    n = len(list(logdir.glob(f"flash_{state.usb_port}_*.log")))
    log = logdir / f"flash_{state.usb_port}_{n}_{stamp}.log"
    log.write_text("".join(f"{line}\n" for line in lines))
    return log
