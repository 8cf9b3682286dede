"""What a flash puts on the DUT: a snapshot of the tree's rootfs as a :class:`Flashed` record."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from pathlib import Path

from pytest_jetson.sim.boards import RELEASES, SimRelease
from pytest_jetson.sim.state import Flashed, StagedUser, hash_password

_RELEASE_RE = re.compile(r"# R(\d+) \(release\), REVISION: (\d+)\.(\d+)")
FIRST_NORMAL_UID = 1000
NOBODY_UID = 65534
DEFAULT_USER_HOSTNAME = "tegra-ubuntu"
"""The hostname ``l4t_create_default_user.sh`` sets when not given ``-n``."""


def nv_tegra_release_text(release: SimRelease) -> str:
    """``/etc/nv_tegra_release`` as the release writes it: ``# R36 (release), REVISION: 4.3, GCID:
    ..., BOARD: generic, EABI: aarch64, DATE: ...`` then the library hash lines."""
    lines = [
        f"# R{release.major} (release), REVISION: {release.revision}, GCID: {release.gcid}, "
        f"BOARD: generic, EABI: aarch64, DATE: {release.date}",
        "# KERNEL_VARIANT: oot",
        "TARGET_USERSPACE_LIB_DIR=nvidia",
        "TARGET_USERSPACE_LIB_DIR_PATH=usr/lib/aarch64-linux-gnu/nvidia",
    ]
    if release.at_least(38, 4):
        lines.append("INSTALL_TYPE=")
    return "\n".join(lines) + "\n"


def release_of(text: str, fallback: SimRelease) -> SimRelease:
    """The release an ``nv_tegra_release`` text names (``fallback`` when unknown)."""
    m = _RELEASE_RE.search(text)
    if m is None:
        return fallback
    return RELEASES.get(f"R{m.group(1)}.{m.group(2)}.{m.group(3)}", fallback)


def staged_user(rootfs: Path) -> StagedUser | None:
    """The first normal user staged in ``rootfs`` (1000 <= UID < 65534), with its hash."""
    passwd = rootfs / "etc" / "passwd"
    if not passwd.is_file():
        return None
    for line in passwd.read_text().splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit():
            uid = int(parts[2])
            if FIRST_NORMAL_UID <= uid < NOBODY_UID:
                return StagedUser(parts[0], _shadow_hash(rootfs, parts[0]), _autologin(rootfs))
    return None


def _shadow_hash(rootfs: Path, user: str) -> str:
    shadow = rootfs / "etc" / "shadow"
    if shadow.is_file():
        for line in shadow.read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 1 and parts[0] == user:
                return parts[1]
    return "!"


def _autologin(rootfs: Path) -> tuple[str, ...]:
    base = rootfs / "etc" / "systemd" / "system"
    if not base.is_dir():
        return ()
    ttys = []
    for conf in sorted(base.glob("serial-getty@*.service.d/autologin.conf")):
        ttys.append(conf.parent.name[len("serial-getty@") : -len(".service.d")])
    return tuple(ttys)


def snapshot(
    lft: Path, *, board: str, sku: str, fab: str, boot_device: str, tool: str, tree: SimRelease
) -> Flashed:
    """The image a flash of ``lft`` writes: release, user, hostname from its rootfs."""
    rootfs = lft / "rootfs"
    text = ""
    for candidate in (rootfs / "etc" / "nv_tegra_release", lft / "nv_tegra" / "nv_tegra_release"):
        if candidate.is_file():
            text = candidate.read_text()
            break
    release = release_of(text, tree)
    hostname_file = rootfs / "etc" / "hostname"
    hostname = hostname_file.read_text().strip() if hostname_file.is_file() else ""
    dtb_name, dtb_sha = _dtb(lft, board)
    return Flashed(
        release=release.version,
        board=board,
        sku=sku,
        fab=fab,
        boot_device=boot_device,
        tool=tool,
        time=time.time(),
        nv_tegra_release=text or nv_tegra_release_text(release),
        kernel=release.kernel,
        ubuntu=release.ubuntu,
        hostname=hostname or "tegra-ubuntu",
        user=staged_user(rootfs),
        kernel_sha256=_sha256(lft / "kernel" / "Image"),
        dtb=f"/boot/dtb/kernel_{dtb_name}" if dtb_name else "",
        dtb_sha256=dtb_sha,
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _dtb(lft: Path, board: str) -> tuple[str, str]:
    """The conf's ``DTB_FILE`` and the hash of ``kernel/dtb/<it>``: flash.sh copies that DTB
    to ``/boot/dtb/kernel_<DTB_FILE>`` in the rootfs and names it in extlinux's ``FDT``."""
    from pytest_jetson.errors import ConfigError
    from pytest_jetson.lft.scan import variable_assignments

    try:
        found = variable_assignments(lft, f"{board}.conf").get("DTB_FILE", [])
    except (ConfigError, OSError):
        return "", ""
    values = [a.value for a in found if "$" not in a.value]
    name = values[-1] if values else ""
    return name, _sha256(lft / "kernel" / "dtb" / name) if name else ""


def factory_image(release: SimRelease) -> Flashed:
    """What a DUT runs before the bench ever flashes it: ``release``, no user staged."""
    return Flashed(
        release=release.version,
        board="factory",
        sku="",
        fab="",
        boot_device="internal",
        tool="factory",
        time=0.0,
        nv_tegra_release=nv_tegra_release_text(release),
        kernel=release.kernel,
        ubuntu=release.ubuntu,
        kernel_sha256=hashlib.sha256(f"factory {release.version} Image".encode()).hexdigest(),
        dtb="/boot/dtb/kernel_factory.dtb",
        dtb_sha256=hashlib.sha256(f"factory {release.version} dtb".encode()).hexdigest(),
    )


def bench_image(
    lft: Path,
    *,
    board: str,
    sku: str,
    fab: str,
    boot_device: str,
    tool: str,
    tree: SimRelease,
    user: tuple[str, str] | None,
) -> Flashed:
    """What a board that the bench flashed earlier runs: ``lft`` as a flash writes it, with
    the bench's default user ``(name, password)`` staged by ``l4t_create_default_user.sh``
    before that flash, which also set its default hostname ``tegra-ubuntu`` (None: nothing
    staged, so the first-boot wizard runs)."""
    image = snapshot(
        lft, board=board, sku=sku, fab=fab, boot_device=boot_device, tool=tool, tree=tree
    )
    if user is None:
        return dataclasses.replace(image, time=0.0)
    staged = StagedUser(user[0], hash_password(user[1]))
    return dataclasses.replace(image, time=0.0, user=staged, hostname=DEFAULT_USER_HOSTNAME)
