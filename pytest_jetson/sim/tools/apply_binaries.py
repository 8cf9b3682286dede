"""``apply_binaries.sh``: install the BSP into ``rootfs``, leaving its markers (the L4T
package records and ``/etc/nv_tegra_release``)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from pytest_jetson.sim.tools._env import ToolEnv, err, out
from pytest_jetson.sim.tree_rootfs import l4t_packages

ERROR_BOX = "||||||||||| ERROR |||||||||||"


def main(env: ToolEnv, argv: list[str]) -> int:
    """Run apply_binaries.sh with ``argv``; return its exit code."""
    rootfs = env.lft / "rootfs"
    if "-r" in argv and argv.index("-r") + 1 < len(argv):
        rootfs = Path(argv[argv.index("-r") + 1]).absolute()
    started = time.monotonic()
    out(f"Using rootfs directory of: {rootfs}")
    if not (rootfs / "etc" / "passwd").is_file():
        err(ERROR_BOX)
        err(f"Rootfs is not extracted in {rootfs}; extract the sample rootfs first.")
        err(ERROR_BOX)
        return 1
    out("Start L4T BSP package installation")
    out(f"Installing BSP Debian packages in {rootfs}")
    env.sleep(0.1)
    _install(env, rootfs)
    out("L4T BSP package installation completed!")
    out("Installing extlinux.conf into /boot/extlinux in target rootfs")
    out(f"Updating the initrd to {rootfs / 'boot' / 'initrd'}")
    elapsed = int(time.monotonic() - started)
    hms = f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
    out(f"Time for applying binaries - {hms}")
    out("Success!")
    return 0


def _install(env: ToolEnv, rootfs: Path) -> None:
    boot = rootfs / "boot"
    (boot / "extlinux").mkdir(parents=True, exist_ok=True)
    for src, dst in (
        (env.lft / "kernel" / "Image", boot / "Image"),
        (env.lft / "bootloader" / "l4t_initrd.img", boot / "initrd"),
        (env.lft / "nv_tegra" / "nv_tegra_release", rootfs / "etc" / "nv_tegra_release"),
    ):
        if src.is_file():
            shutil.copyfile(src, dst)
    extlinux = boot / "extlinux" / "extlinux.conf"
    if not extlinux.is_file():
        extlinux.write_text(
            "TIMEOUT 30\nDEFAULT primary\n\nMENU TITLE L4T boot options\n\nLABEL primary\n"
            "      MENU LABEL primary kernel\n      LINUX /boot/Image\n"
            "      INITRD /boot/initrd\n      APPEND ${cbootargs} root=/dev/mmcblk0p1 rw\n"
        )
    _dpkg_records(env, rootfs)


def _dpkg_records(env: ToolEnv, rootfs: Path) -> None:
    dpkg = rootfs / "var" / "lib" / "dpkg"
    (dpkg / "info").mkdir(parents=True, exist_ok=True)
    status = dpkg / "status"
    text = status.read_text() if status.is_file() else ""
    packages = l4t_packages(env.board, env.release)
    version = env.release.deb_version
    for pkg in packages:
        if f"Package: {pkg}\n" not in text:
            text += (
                f"Package: {pkg}\nStatus: install ok installed\nArchitecture: arm64\n"
                f"Version: {version}\n\n"
            )
        (dpkg / "info" / f"{pkg}.list").touch()
    status.write_text(text)
