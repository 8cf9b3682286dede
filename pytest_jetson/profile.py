"""The target-platform profile: frozen dataclasses and the strict YAML loader.

A profile (``profiles/*.yaml``) describes one target platform: the reference devkit, an optional
custom carrier, the promoted ``bsp_image``, the ``source`` workspace and the boot device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.catalogue import ChipFamily, chip_for_module
from pytest_jetson.errors import ProfileError, UsageError, excerpt, shorten
from pytest_jetson.inputs import is_file, path_problem
from pytest_jetson.yamlfile import MapReader, read_mapping


@dataclass(frozen=True)
class Module:
    """The compute module of the reference devkit (``p3701``, sku ``"0000"``)."""

    id: str
    sku: str | None = None
    revision: str | None = None


@dataclass(frozen=True)
class Carrier:
    """The reference carrier board (``p3737``, sku ``"0000"``)."""

    id: str
    sku: str | None = None


@dataclass(frozen=True)
class ReferenceDevkit:
    """The NVIDIA reference devkit the platform starts from."""

    name: str
    module: Module
    carrier: Carrier
    flash_config: str


@dataclass(frozen=True)
class CustomCarrier:
    """A custom carrier board derived from the reference devkit."""

    id: str
    sku: str | None
    flash_config: str
    name: str | None = None


@dataclass(frozen=True)
class BspImage:
    """The promoted BSP image: ``<root_path>/Linux_for_Tegra`` is flashed."""

    root_path: Path
    version: str | None = None

    @property
    def lft(self) -> Path:
        """The ``Linux_for_Tegra`` directory of the image."""
        return self.root_path / "Linux_for_Tegra"


@dataclass(frozen=True)
class Source:
    """The source workspace: ``<root_path>/Linux_for_Tegra`` is the overlay tracker."""

    root_path: Path

    @property
    def overlay_tracker(self) -> Path:
        """The overlay tracker git repository."""
        return self.root_path / "Linux_for_Tegra"


@dataclass(frozen=True)
class Profile:
    """A target-platform profile, resolved (relative paths made absolute)."""

    path: Path
    reference_devkit: ReferenceDevkit
    custom_carrier: CustomCarrier | None = None
    bsp_image: BspImage | None = None
    source: Source | None = None
    boot_device: str | None = None
    rootfs_ab: bool = False
    """Flash two root file systems (A/B): the flow tool gets ``ROOTFS_AB=1`` and the conf
    picks its A/B layout. (Encrypted rootfs, ``ROOTFS_ENC``, is not supported.)"""

    @property
    def name(self) -> str:
        """The profile's name: its file name without ``.yaml``."""
        return self.path.stem

    @property
    def chip(self) -> ChipFamily:
        """The chip family, from the reference module id through the catalogue."""
        return chip_for_module(self.reference_devkit.module.id)

    @property
    def flash_config(self) -> str:
        """The active flash conf: the custom carrier's when present, else the devkit's."""
        if self.custom_carrier is not None:
            return self.custom_carrier.flash_config
        return self.reference_devkit.flash_config

    @property
    def board(self) -> str:
        """``<board>`` as the flash tools take it: the active conf's name minus ``.conf``."""
        name = Path(self.flash_config).name
        return name[: -len(".conf")] if name.endswith(".conf") else name

    @property
    def target_name(self) -> str:
        """``<reference_devkit.name> [+ custom_carrier.name]`` as the plan prints it."""
        name = self.reference_devkit.name
        if self.custom_carrier is not None:
            name += f" + {self.custom_carrier.name or self.custom_carrier.id}"
        return name


_TOP_KEYS = (
    "reference_devkit",
    "custom_carrier",
    "bsp_image",
    "source",
    "boot_device",
    "rootfs_ab",
)


def _resolve(base: Path, block: MapReader, key: str) -> Path:
    value = block.text(key)
    problem = path_problem(value)
    if problem is not None:
        raise block.error(f"path {problem}", key=key)
    path = Path(value).expanduser()
    try:
        return path if path.is_absolute() else (base / path).resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop
        raise block.error(f"cannot resolve {excerpt(value)}: {exc}", key=key) from None


def _reference_devkit(doc: MapReader) -> ReferenceDevkit:
    ref = doc.map("reference_devkit")
    ref.allow(("name", "module", "carrier", "flash_config"))
    module = ref.map("module")
    module.allow(("id", "sku", "revision"))
    carrier = ref.map("carrier")
    carrier.allow(("id", "sku"))
    return ReferenceDevkit(
        name=ref.text("name"),
        module=Module(
            id=module.text("id"), sku=module.opt_text("sku"), revision=module.opt_text("revision")
        ),
        carrier=Carrier(id=carrier.text("id"), sku=carrier.opt_text("sku")),
        flash_config=_conf_name(ref, "flash_config"),
    )


def _conf_name(block: MapReader, key: str) -> str:
    value = block.text(key)
    if not value.endswith(".conf"):
        raise block.error(f"a flash conf file name ends in .conf, got {excerpt(value)}", key=key)
    return value


def _custom_carrier(doc: MapReader) -> CustomCarrier | None:
    block = doc.opt_map("custom_carrier")
    if block is None:
        return None
    block.allow(("id", "sku", "flash_config", "name"))
    return CustomCarrier(
        id=block.text("id"),
        sku=block.opt_text("sku"),
        flash_config=_conf_name(block, "flash_config"),
        name=block.opt_text("name"),
    )


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile YAML file.

    Raises :class:`~pytest_jetson.errors.ProfileError` naming the file, line and key for invalid
    YAML, duplicate, unknown or missing keys, wrong types and empty files.
    """
    file = Path(path)
    doc = read_mapping(file, error=ProfileError, what="profile")
    doc.allow(_TOP_KEYS)
    base = file.resolve().parent
    bsp_image = None
    block = doc.opt_map("bsp_image")
    if block is not None:
        block.allow(("root_path", "version"))
        bsp_image = BspImage(
            root_path=_resolve(base, block, "root_path"), version=block.opt_text("version")
        )
    source = None
    block = doc.opt_map("source")
    if block is not None:
        block.allow(("root_path",))
        source = Source(root_path=_resolve(base, block, "root_path"))
    return Profile(
        path=file.resolve(),
        reference_devkit=_reference_devkit(doc),
        custom_carrier=_custom_carrier(doc),
        bsp_image=bsp_image,
        source=source,
        boot_device=doc.opt_text("boot_device"),
        rootfs_ab=bool(doc.opt_bool("rootfs_ab")),
    )


PROFILE_ENTRY_POINTS = "pytest_jetson.profiles"
"""Entry-point group of profiles that installed packages provide by name: each is a callable
taking the working folder and returning the profile file (set up on first use)."""


def find_profile(ref: str, *, folders: Sequence[Path], base: Path) -> Path:
    """The profile file ``ref`` names: a path to a file; else ``<folder>/<ref>.yaml`` in one of
    ``folders``; else a profile an installed package provides under that name
    (:data:`PROFILE_ENTRY_POINTS`, given ``base``). A usage error says where it looked."""
    problem = path_problem(ref)
    if problem is not None:
        raise UsageError(f"profile {excerpt(ref)}: {problem}")
    path = Path(ref).expanduser()
    if is_file(path) or ref.endswith((".yaml", ".yml")) or "/" in ref:
        return path  # the loader names a missing or bad file
    for folder in folders:
        candidate = folder / f"{ref}.yaml"
        if is_file(candidate):
            return candidate
    from importlib.metadata import entry_points

    provided = {ep.name: ep for ep in entry_points(group=PROFILE_ENTRY_POINTS)}
    if ref in provided:
        made: Path = provided[ref].load()(base)
        return made
    looked = ", ".join(str(f) for f in folders) or "(no profile folder)"
    names = ", ".join(sorted(provided)) or "none"
    raise UsageError(
        f"profile {excerpt(ref)}: no such file, no {shorten(ref, 60)}.yaml in {looked}, and "
        "no installed "
        f"package provides it (provided profiles: {names})"
    )
