"""The bench inventory: DUT names → profile and bench wiring (``hil/bench.yaml``).

The loader knows the core keys of a DUT entry; a plugin adds its own blocks (the simulator's
``sim:``, a bench's own) as :class:`EntryBlock` values, read with the same file/line/key errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import yaml

from pytest_jetson.errors import InventoryError, UsageError, excerpt, shorten
from pytest_jetson.inputs import MAX_SECONDS, path_problem
from pytest_jetson.profile import BspImage, Profile, load_profile
from pytest_jetson.yamlfile import MapReader, read_mapping

if TYPE_CHECKING:
    from pytest_jetson.remote.spec import LabgridSpec

T = TypeVar("T")


@dataclass(frozen=True)
class SerialSpec:
    """The DUT's serial console: a device path (or pyserial URL) and its baud rate."""

    port: str
    baud: int = 115200


@dataclass(frozen=True)
class DefaultUser:
    """The bench's answer to procedure step 5.4 (default user staging).

    ``kind`` is ``ubuntu`` or ``nvidia`` (user and password both that name), ``custom``
    (``username`` plus a password read from the environment variable ``password_env``), or
    ``skip`` (nothing staged: the OEM wizard runs on first boot).
    """

    kind: Literal["ubuntu", "nvidia", "custom", "skip"]
    username: str | None = None
    password_env: str | None = None

    @property
    def name(self) -> str | None:
        """The user name to stage, or None for ``skip``."""
        if self.kind == "skip":
            return None
        return self.username if self.kind == "custom" else self.kind


LADDER_RUNGS = ("reset", "power_cycle", "recovery_reentry", "reflash")
"""The recovery ladder's rungs, in climbing order (the default ladder of every DUT): a
``ladder:`` list in a DUT's entry keeps a subset, ``ladder: []`` none. ``reset`` (boardctl
reset), ``power_cycle`` (power_off, power_on), ``recovery_reentry`` (into recovery, seen in
RCM, then a reset boots normally), ``reflash`` (the DUT's ``known_good`` image flashed and
boot-validated)."""


@dataclass(frozen=True)
class EntryBlock:
    """A block that a plugin adds to the inventory's DUT entries (``sim:`` from the
    simulator, or a bench's own), given through the ``pytest_jetson_entry_blocks`` hook."""

    key: str
    """The entry key the block sits under."""
    parse: Callable[[MapReader], object]
    """Reads the block (a mapping) into the plugin's own frozen value; its errors name the
    file, line and key like the loader's."""
    provides_profile: bool = False
    """An entry with this block needs no ``profile``: the plugin's resolve hook supplies one."""
    wires_entry: bool = False
    """The plugin wires an entry with this block itself (its console, USB port and boardctl
    debugger), so the inventory's check that boardctl debuggers are named skips it."""
    reserved: tuple[str, ...] = ()
    """DUT names no inventory may declare (the plugin's built-in DUTs)."""
    reserved_why: str = "is reserved"
    """Completes the error for a reserved name: ``'NAME' <reserved_why>``."""


Blocks = tuple[tuple[str, object], ...]
"""The plugin blocks of one entry, ``(key, parsed value)`` in file order."""


def block_of(blocks: Blocks, key: str, kind: type[T]) -> T | None:
    """The parsed block ``key`` if the entry has one of type ``kind``, else None."""
    for name, value in blocks:
        if name == key and isinstance(value, kind):
            return value
    return None


@dataclass(frozen=True)
class BenchEntry:
    """One DUT on a bench: its profile and how it is wired."""

    name: str
    profile: Profile
    boardctl_target: str | None = None
    boardctl_serial: str | None = None
    """The USB serial of the DUT's TOPO debugger: boardctl's ``-s``."""
    boardctl_index: int | None = None
    """boardctl's ``-i`` (the N-th debugger found), used when no serial is known."""
    serial: SerialSpec | None = None
    usb_port: str | None = None
    boot_device: str | None = None
    default_user: DefaultUser | None = None
    """The bench's default-user choice; None when the inventory does not say."""
    recovery: Literal["boardctl", "manual"] = "boardctl"
    blocks: Blocks = ()
    """The entry's plugin blocks (see :class:`EntryBlock`), read with :meth:`block`."""
    source_file: Path | None = None
    """The inventory file the entry came from (None for built-in simulated DUTs)."""
    teardown: Literal["leave", "power_off", "recovery"] = "leave"
    """The state the DUT is left in after the session: booted, powered off or in recovery."""
    deadlines: tuple[tuple[str, float], ...] = ()
    """Step deadlines (seconds) this bench sets for the DUT, overriding the defaults."""
    labgrid: LabgridSpec | None = None
    """The DUT sits on a remote labgrid bench (its ``labgrid:`` block); None when local."""
    ladder: tuple[str, ...] = LADDER_RUNGS
    """The recovery ladder's rungs tried, in order, when the bench loses the DUT."""
    known_good: Profile | None = None
    """The DUT's known-good image (the ``known_good`` key: a profile, or a tree with the DUT's
    own platform data), which the ladder's ``reflash`` rung flashes; None: no such rung."""

    def block(self, key: str, kind: type[T]) -> T | None:
        """The entry's plugin block ``key`` when it is a ``kind``, else None."""
        return block_of(self.blocks, key, kind)

    @property
    def boot_device_resolved(self) -> str | None:
        """The boot device: the profile's, else the bench entry's (never guessed)."""
        return self.profile.boot_device or self.boot_device


_DUT_KEYS = (
    "teardown",
    "deadlines",
    "profile",
    "boardctl_target",
    "boardctl_serial",
    "boardctl_index",
    "serial",
    "usb_port",
    "boot_device",
    "default_user",
    "recovery",
    "labgrid",
    "ladder",
    "known_good",
)
DEADLINE_STEPS = (
    "boardctl",
    "rcm",
    "eeprom",
    "default_user",
    "flash",
    "boot",
    "login",
    "recovery",
)
"""Steps whose deadline a bench entry may set (``deadlines: {flash: 5400}``)."""
_USB_PORT = re.compile(r"[0-9]+-[0-9]+(\.[0-9]+)*")
TOPO_BY_ID = re.compile(
    r"/dev/serial/by-id/usb-NVIDIA_Tegra_On-Platform_Operator_(?P<serial>[A-Za-z0-9_.]+)"
    r"-if[0-9]+(?:-port[0-9]+)?"
)
"""A TOPO console's udev name; its ``<serial>`` is the USB serial boardctl's ``-s`` compares."""


@dataclass(frozen=True)
class InventoryDut:
    """One validated ``duts:`` entry, its profile not yet loaded."""

    name: str
    profile_ref: str | None
    """The ``profile`` value as written (a name or a path); None when a plugin block provides
    the profile (a simulated entry)."""
    profile_line: int
    boardctl_target: str | None
    serial: SerialSpec | None
    usb_port: str | None
    boot_device: str | None
    default_user: DefaultUser | None
    recovery: Literal["boardctl", "manual"]
    blocks: Blocks = ()
    wired_by_plugin: bool = False
    """One of the entry's blocks says its plugin wires it (:attr:`EntryBlock.wires_entry`)."""
    teardown: Literal["leave", "power_off", "recovery"] = "leave"
    deadlines: tuple[tuple[str, float], ...] = ()
    labgrid: LabgridSpec | None = None
    boardctl_serial: str | None = None
    """boardctl's ``-s``: the key, else the ``<serial>`` of a TOPO by-id console path."""
    boardctl_index: int | None = None
    ladder: tuple[str, ...] = LADDER_RUNGS
    known_good: str | None = None
    """The ``known_good`` value as written: a profile (name or path) or a Linux_for_Tegra
    tree (a folder: the tree, or the folder holding it)."""
    known_good_line: int = 0
    line: int = 0
    """The line of the entry in the inventory file."""

    @property
    def shares_debuggers(self) -> bool:
        """Driven through boardctl on this host (so its TOPO sits among the host's others).

        An entry a plugin wires (a simulated one: the simulator gives its debugger's serial) is
        not; a remote one runs boardctl on its own bench host."""
        return (
            self.recovery == "boardctl"
            and self.boardctl_target is not None
            and not self.wired_by_plugin
            and self.labgrid is None
        )

    @property
    def names_debugger(self) -> bool:
        """Whether boardctl is told which debugger (``-s`` or ``-i``)."""
        return self.boardctl_serial is not None or self.boardctl_index is not None

    def block(self, key: str, kind: type[T]) -> T | None:
        """The entry's plugin block ``key`` when it is a ``kind``, else None."""
        return block_of(self.blocks, key, kind)


@dataclass(frozen=True)
class Inventory:
    """A bench inventory file: DUT names → validated entries (profiles loaded on demand)."""

    path: Path
    duts: dict[str, InventoryDut]
    profile_dirs: tuple[Path, ...]
    lock_dir: Path | None = None
    """Where DUT locks live (top-level ``lock_dir``), relative paths against the file."""

    def pool(self, profile: str) -> list[str]:
        """The DUTs whose profile is ``profile`` (by name), in file order."""
        return [
            d.name
            for d in self.duts.values()
            if d.profile_ref is not None and Path(d.profile_ref).stem == profile
        ]

    @property
    def names(self) -> list[str]:
        """The DUT names, sorted."""
        return sorted(self.duts)

    def profile_path(self, dut: InventoryDut) -> Path:
        """Where ``dut``'s profile lives: a path relative to the inventory, or a bare name
        looked up as ``<name>.yaml`` in the profile directories."""
        ref = dut.profile_ref
        if ref is None:
            raise InventoryError(
                "no profile given", path=str(self.path), line=dut.profile_line, key=dut.name
            )
        if "/" in ref or ref.endswith((".yaml", ".yml")):
            problem = path_problem(ref)
            if problem is not None:
                raise InventoryError(
                    f"profile path {problem}",
                    path=str(self.path),
                    line=dut.profile_line,
                    key=f"duts.{dut.name}.profile",
                )
            candidate = Path(ref).expanduser()
            return candidate if candidate.is_absolute() else self.path.parent / candidate
        for folder in self.profile_dirs:
            candidate = folder / f"{ref}.yaml"
            if candidate.is_file():
                return candidate
        looked = ", ".join(str(d) for d in self.profile_dirs) or "(no profile directory)"
        raise InventoryError(
            f"profile {excerpt(ref)} not found (looked for {shorten(ref, 60)}.yaml in {looked})",
            path=str(self.path),
            line=dut.profile_line,
            key=f"duts.{dut.name}.profile",
        )

    def known_good(self, dut: InventoryDut, own: Profile) -> Profile | None:
        """The known-good image of ``dut``: the profile its ``known_good`` names, or its own
        profile (``own``) with the ``known_good`` tree as the image; None without the key."""
        ref = dut.known_good
        if ref is None:
            return None
        key = f"duts.{dut.name}.known_good"
        problem = path_problem(ref)
        if problem is not None:
            raise InventoryError(
                f"known_good {problem}", path=str(self.path), line=dut.known_good_line, key=key
            )
        candidate = Path(ref).expanduser()
        candidate = candidate if candidate.is_absolute() else self.path.parent / candidate
        if candidate.is_dir():
            root = candidate.parent if candidate.name == "Linux_for_Tegra" else candidate
            if not (root / "Linux_for_Tegra").is_dir():
                raise InventoryError(
                    f"known_good folder {candidate} is not a Linux_for_Tegra tree (nor holds "
                    "one); name a tree or a profile",
                    path=str(self.path),
                    line=dut.known_good_line,
                    key=key,
                )
            return replace(own, bsp_image=BspImage(root_path=root.resolve()))
        named = replace(dut, profile_ref=ref, profile_line=dut.known_good_line)
        try:
            return load_profile(self.profile_path(named))
        except InventoryError as exc:
            raise InventoryError(
                exc.message.replace("profile", "known_good profile", 1),
                path=str(self.path),
                line=dut.known_good_line,
                key=key,
            ) from None

    def entry(self, name: str, *, profile: Profile | None = None) -> BenchEntry:
        """The bench entry for DUT ``name``, loading its profile (or using ``profile``)."""
        dut = self.duts.get(name)
        if dut is None:
            raise UsageError(
                f"unknown DUT {excerpt(name)}; known DUTs: {', '.join(self.names) or '(none)'}"
                f" (inventory {self.path})"
            )
        if profile is None:
            profile = load_profile(self.profile_path(dut))
        return BenchEntry(
            known_good=self.known_good(dut, profile),
            name=dut.name,
            profile=profile,
            boardctl_target=dut.boardctl_target,
            boardctl_serial=dut.boardctl_serial,
            boardctl_index=dut.boardctl_index,
            serial=dut.serial,
            usb_port=dut.usb_port,
            boot_device=dut.boot_device,
            default_user=dut.default_user,
            recovery=dut.recovery,
            blocks=dut.blocks,
            source_file=self.path,
            teardown=dut.teardown,
            deadlines=dut.deadlines,
            labgrid=dut.labgrid,
            ladder=dut.ladder,
        )


def _default_user(entry: MapReader) -> DefaultUser | None:
    node = entry.node_of("default_user")
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        kind = entry.choice("default_user", node, ("ubuntu", "nvidia", "skip"))
        return DefaultUser(kind)  # type: ignore[arg-type]
    custom = entry.opt_map("default_user")
    assert custom is not None
    custom.allow(("username", "password_env"))
    username = custom.text("username")
    if not re.fullmatch(r"[a-z_][a-z0-9_-]*", username):
        raise custom.error(f"not a valid Linux user name: {excerpt(username)}", key="username")
    password_env = custom.text("password_env")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", password_env):
        raise custom.error(
            f"not an environment variable name: {excerpt(password_env)}", key="password_env"
        )
    return DefaultUser("custom", username=username, password_env=password_env)


def _serial(entry: MapReader) -> SerialSpec | None:
    block = entry.opt_map("serial")
    if block is None:
        return None
    block.allow(("port", "baud"))
    return SerialSpec(port=block.text("port"), baud=block.opt_int("baud", minimum=1) or 115200)


def _blocks(entry: MapReader, blocks: Sequence[EntryBlock]) -> tuple[Blocks, list[EntryBlock]]:
    """The plugin blocks present in ``entry``, parsed, and their descriptions."""
    found: list[tuple[str, object]] = []
    present: list[EntryBlock] = []
    for block in blocks:
        reader = entry.opt_map(block.key)
        if reader is not None:
            found.append((block.key, block.parse(reader)))
            present.append(block)
    return tuple(found), present


def _boardctl_serial(entry: MapReader, serial: SerialSpec | None) -> str | None:
    given = entry.opt_text("boardctl_serial")
    if given is not None:
        return given
    match = TOPO_BY_ID.fullmatch(serial.port) if serial is not None else None
    return match.group("serial") if match else None


def check_debuggers(path: Path, duts: Sequence[InventoryDut]) -> None:
    """Refuse an inventory whose boardctl calls could drive the wrong board.

    With several TOPO debuggers on one host, boardctl needs ``-s SERIAL`` or ``-i INDEX``:
    without them R36.2 silently drives the first TOPO it finds (another DUT, maybe another
    team's) and R38+ stops with "Multiple (N) debuggers detected!". Two entries naming the same
    debugger would drive one board for both.
    """
    sharing = [d for d in duts if d.shares_debuggers]
    unnamed = [d for d in sharing if not d.names_debugger]
    if len(sharing) > 1 and unnamed:
        listed = ", ".join(f"{d.name} (line {d.line})" for d in unnamed)
        verb = "does" if len(unnamed) == 1 else "do"
        raise InventoryError(
            f"{len(sharing)} DUTs are driven by boardctl on this host but {listed} "
            f"{verb} not say which debugger: boardctl would drive the first TOPO it finds (R36) "
            "or refuse (R38+). Fix: give each DUT `boardctl_serial: <serial>` (the TOPO's USB "
            "serial, the <serial> in /dev/serial/by-id/usb-NVIDIA_Tegra_On-Platform_Operator_"
            "<serial>-if01; taken from serial.port when it has that form) or "
            "`boardctl_index: N`",
            path=str(path),
            line=unnamed[0].line,
            key=f"duts.{unnamed[0].name}",
        )
    seen: dict[tuple[str, str | int], InventoryDut] = {}
    for dut in sharing:
        which: tuple[str, str | int] = (
            ("serial", dut.boardctl_serial)
            if dut.boardctl_serial is not None
            else ("index", dut.boardctl_index if dut.boardctl_index is not None else 0)
        )
        if which in seen:
            raise InventoryError(
                f"DUTs {seen[which].name} and {dut.name} name the same debugger "
                f"(boardctl {which[0]} {which[1]}): each DUT needs its own",
                path=str(path),
                line=dut.line,
                key=f"duts.{dut.name}.boardctl_{which[0]}",
            )
        seen[which] = dut


def _dut(name: str, entry: MapReader, blocks: Sequence[EntryBlock]) -> InventoryDut:
    from pytest_jetson.remote.spec import parse_labgrid

    entry.allow((*_DUT_KEYS, *(b.key for b in blocks)))
    extra, present = _blocks(entry, blocks)
    provided = any(b.provides_profile for b in present)
    profile_ref = entry.opt_text("profile") if provided else entry.text("profile")
    usb_port = entry.opt_text("usb_port")
    if usb_port is not None and not _USB_PORT.fullmatch(usb_port):
        raise entry.error(
            f"expected a USB port path like '1-4' or '3-1.2', got {excerpt(usb_port)}",
            key="usb_port",
        )
    recovery_node = entry.node_of("recovery")
    recovery = (
        "boardctl"
        if recovery_node is None
        else entry.choice("recovery", recovery_node, ("boardctl", "manual"))
    )
    teardown_node = entry.node_of("teardown")
    teardown = (
        "leave"
        if teardown_node is None
        else entry.choice("teardown", teardown_node, ("leave", "power_off", "recovery"))
    )
    deadlines: list[tuple[str, float]] = []
    block = entry.opt_map("deadlines")
    if block is not None:
        block.allow(DEADLINE_STEPS)
        for step in block:
            value = block.opt_float(step, maximum=MAX_SECONDS)  # a timer holds it
            if value is not None:
                deadlines.append((step, value))
    serial = _serial(entry)
    return InventoryDut(
        boardctl_serial=_boardctl_serial(entry, serial),
        boardctl_index=entry.opt_int("boardctl_index", minimum=0),
        line=entry.line,
        teardown=teardown,  # type: ignore[arg-type]
        deadlines=tuple(deadlines),
        name=name,
        profile_ref=profile_ref,
        profile_line=entry.line_of("profile"),
        boardctl_target=entry.opt_text("boardctl_target"),
        serial=serial,
        usb_port=usb_port,
        boot_device=entry.opt_text("boot_device"),
        default_user=_default_user(entry),
        recovery=recovery,  # type: ignore[arg-type]
        blocks=extra,
        wired_by_plugin=any(b.wires_entry for b in present),
        labgrid=parse_labgrid(entry),
        ladder=_ladder(entry),
        known_good=entry.opt_text("known_good"),
        known_good_line=entry.line_of("known_good"),
    )


def _ladder(entry: MapReader) -> tuple[str, ...]:
    if entry.node_of("ladder") is None:
        return LADDER_RUNGS
    rungs = entry.str_list("ladder")
    unknown = [r for r in rungs if r not in LADDER_RUNGS]
    if unknown:
        raise entry.error(
            f"unknown rung(s) {', '.join(map(repr, unknown))}; rungs: {', '.join(LADDER_RUNGS)}",
            key="ladder",
        )
    return tuple(r for r in LADDER_RUNGS if r in rungs)


def load_inventory(
    path: str | Path, *, profile_dirs: Sequence[Path] = (), blocks: Sequence[EntryBlock] = ()
) -> Inventory:
    """Load and validate a bench inventory (``hil/bench.yaml``).

    Bare profile names resolve in ``profile_dirs`` (first hit wins); paths resolve against
    the inventory file's folder. ``blocks`` are the entry blocks plugins add (any other key
    is an error). Errors name the file, line and key.
    """
    file = Path(path)
    doc = read_mapping(file, error=InventoryError, what="bench inventory")
    doc.allow(("duts", "lock_dir"))
    lock_dir = doc.opt_text("lock_dir")
    duts_block = doc.map("duts")
    duts: dict[str, InventoryDut] = {}
    for name in duts_block:
        for block in blocks:
            if name in block.reserved:
                raise duts_block.error(f"{excerpt(name)} {block.reserved_why}", key=name)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise duts_block.error(f"invalid DUT name {excerpt(name)}", key=name)
        duts[name] = _dut(name, duts_block.map(name), blocks)
    check_debuggers(file, list(duts.values()))
    return Inventory(
        path=file.resolve(),
        duts=duts,
        profile_dirs=tuple(profile_dirs),
        lock_dir=(file.resolve().parent / lock_dir) if lock_dir else None,
    )
