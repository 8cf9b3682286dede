"""The sample rootfs after apply_binaries, as NVIDIA's releases leave it: release file, L4T package
markers, users, first-boot units, nvpmodel / nvfancontrol files and nvpower.sh."""

from __future__ import annotations

import hashlib

from pytest_jetson.sim.boards import SimBoard, SimRelease
from pytest_jetson.sim.tree_boot import L4T_LIBS, pseudo_bytes
from pytest_jetson.sim.tree_files import TreeFiles
from pytest_jetson.sim.tree_nvpower import nvpower_sh

LIB_DIR = "usr/lib/aarch64-linux-gnu/nvidia"


def l4t_packages(board: SimBoard, release: SimRelease) -> list[str]:
    """The L4T packages installed in the rootfs (dpkg records): ``nvidia-l4t-core`` and its
    siblings; no ``nvidia-l4t-bsp-*`` package exists before R39.2."""
    pkgs = [
        "nvidia-l4t-core",
        "nvidia-l4t-init",
        "nvidia-l4t-oem-config",
        "nvidia-l4t-nvpmodel",
        "nvidia-l4t-nvfancontrol",
        "nvidia-l4t-configs",
        "nvidia-l4t-firmware",
        "nvidia-l4t-initrd",
        "nvidia-l4t-kernel",
        "nvidia-l4t-kernel-dtbs",
        "nvidia-l4t-bootloader",
    ]
    if release.at_least(39):
        flavour = "openrm" if board.chip.catalogue_id == "t264" else "nvgpu"
        pkgs += [
            "nvidia-l4t-bsp",
            f"nvidia-l4t-bsp-{flavour}",
            f"nvidia-l4t-init-{flavour}",
            "nvidia-l4t-firstboot",
        ]
    return pkgs


def nv_tegra_release_text(release: SimRelease, libs: dict[str, bytes]) -> str:
    """``nv_tegra_release`` in the real format of the release."""
    lines = [
        f"# R{release.major} (release), REVISION: {release.revision}, GCID: {release.gcid}, "
        f"BOARD: generic, EABI: aarch64, DATE: {release.date}",
        "# KERNEL_VARIANT: oot",
        "TARGET_USERSPACE_LIB_DIR=nvidia",
        f"TARGET_USERSPACE_LIB_DIR_PATH={LIB_DIR}",
    ]
    if release.at_least(38, 4):
        lines.append("INSTALL_TYPE=")
    for name, content in libs.items():
        lines.append(f"{hashlib.sha1(content).hexdigest()} */{LIB_DIR}/{name}")
    return "\n".join(lines) + "\n"


_PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:100:102:systemd Network Management,,,:/run/systemd:/usr/sbin/nologin
messagebus:x:103:106::/nonexistent:/usr/sbin/nologin
avahi:x:110:116:Avahi mDNS daemon,,,:/run/avahi-daemon:/usr/sbin/nologin
gdm:x:120:125:Gnome Display Manager:/var/lib/gdm3:/bin/false
"""

_GROUP = """\
root:x:0:
adm:x:4:
sudo:x:27:
audio:x:29:
video:x:44:
render:x:109:
weston-launch:x:113:
nogroup:x:65534:
"""


def _nvpmodel(modes: list[str], default: int) -> str:
    out = [
        "# Synthetic nvpmodel configuration (pytest-jetson simulator)\n\n",
        "< PARAM TYPE=FILE NAME=CPU_ONLINE >\n",
        "CORE_0 /sys/devices/system/cpu/cpu0/online\n",
        "CORE_1 /sys/devices/system/cpu/cpu1/online\n\n",
        "< PARAM TYPE=FILE NAME=TPC_POWER_GATING >\n",
        "TPC_PG_MASK /sys/devices/gpu.0/tpc_pg_mask\n\n",
    ]
    for index, name in enumerate(modes):
        out.append(
            f"< POWER_MODEL ID={index} NAME={name} >\nCPU_ONLINE CORE_0 1\nCPU_ONLINE CORE_1 1\n"
            f"TPC_POWER_GATING TPC_PG_MASK {index}\n\n"
        )
    out.append(f"< PM_CONFIG DEFAULT={default} >\n")
    return "".join(out)


def _nvfancontrol(kickstart: int) -> str:
    return (
        "# Synthetic nvfancontrol configuration (pytest-jetson simulator)\n\n"
        "POLLING_INTERVAL 2\n\n"
        "<FAN 1>\n"
        "\tTMARGIN ENABLED\n"
        "\tFAN_GOVERNOR pid {\n\t\tSTEP_SIZE 10\n\t}\n"
        "\tFAN_GOVERNOR cont {\n\t\tSTEP_SIZE 10\n\t}\n"
        "\tFAN_CONTROL close_loop {\n\t\tRPM_TOLERANCE 100\n\t}\n"
        "\tFAN_PROFILE cool {\n\t\t#TEMP\tHYST\tPWM\tRPM\n"
        "\t\t0\t0\t255\t6000\n\t\t35\t0\t255\t6000\n\t\t105\t0\t255\t6000\n\t}\n"
        "\tFAN_PROFILE quiet {\n\t\t#TEMP\tHYST\tPWM\tRPM\n"
        "\t\t0\t0\t0\t0\n\t\t50\t0\t77\t1000\n\t\t105\t0\t255\t6000\n\t}\n"
        "\tTHERMAL_GROUP 0 {\n\t\tGROUP_MAX_TEMP 105\n\t\tcpu-thermal 20 2 0.5\n\t}\n"
        "\tFAN_DEFAULT_CONTROL open_loop\n"
        "\tFAN_DEFAULT_PROFILE cool\n"
        "\tFAN_DEFAULT_GOVERNOR pid\n"
        f"\tKICKSTART_PWM {kickstart}\n"
    )


def power_files(files: TreeFiles, board: SimBoard, release: SimRelease, *, cvb: bool) -> None:
    """nvpmodel and nvfancontrol files (real names, no ``_0005``) and nvpower.sh."""
    t234 = board.chip.catalogue_id == "t234" or release.at_least(39)
    t264 = board.chip.catalogue_id == "t264"
    pm = "etc/nvpmodel/"
    fan = "etc/nvpower/nvfancontrol/"
    if t234:
        agx = ["MAXN", "MODE_15W", "MODE_30W", "MODE_50W"]
        for sku in ("0000", "0002", "0004"):
            files.text(pm + f"nvpmodel_p3701_{sku}.conf", _nvpmodel(agx, 2))
        for sku in ("0000", "0001"):
            files.text(
                pm + f"nvpmodel_p3767_{sku}.conf", _nvpmodel(["MAXN", "10W", "15W", "25W"], 2)
            )
        for sku in ("0003", "0004"):
            files.text(pm + f"nvpmodel_p3767_{sku}.conf", _nvpmodel(["15W", "7W"], 0))
        if release.at_least(36, 4):
            for sku in ("0000", "0001"):
                files.text(
                    pm + f"nvpmodel_p3767_{sku}_super.conf",
                    _nvpmodel(["MAXN_SUPER", "10W", "15W", "25W", "40W"], 2),
                )
            for sku in ("0003", "0004"):
                files.text(
                    pm + f"nvpmodel_p3767_{sku}_super.conf",
                    _nvpmodel(["15W", "25W", "MAXN_SUPER", "7W"], 1),
                )
        for name in ("p3701_0000", "p3701_0002", "p3767_0000"):
            files.text(fan + f"nvfancontrol_{name}.conf", _nvfancontrol(77))
    if t264:
        modes = ["MAXN", "120W", "90W", "70W"]
        for sku in ("0008", "0000"):
            files.text(pm + f"nvpmodel_p3834_{sku}.conf", _nvpmodel(modes, 0))
            files.text(fan + f"nvfancontrol_p3834_{sku}_p4071_0000.conf", _nvfancontrol(60))
    files.text("etc/systemd/nvpower.sh", nvpower_sh(t234=t234, t264=t264, cvb=cvb), executable=True)


def _dpkg(release: SimRelease, packages: list[str], libs: list[str]) -> TreeFiles:
    files = TreeFiles()
    records = []
    base = [
        ("base-files", "13ubuntu10" if release.major >= 38 else "12ubuntu4.7"),
        ("bash", "5.2.21-2ubuntu4" if release.major >= 38 else "5.1-6ubuntu1.1"),
    ]
    for name, version in base:
        records.append(
            f"Package: {name}\nStatus: install ok installed\nPriority: required\n"
            f"Architecture: arm64\nVersion: {version}\nDescription: {name}\n"
        )
        files.text(f"var/lib/dpkg/info/{name}.list", f"/.\n/usr\n/usr/share/doc/{name}\n")
    owned: dict[str, list[str]] = {
        "nvidia-l4t-core": ["/etc/nv_tegra_release", *(f"/{LIB_DIR}/{lib}" for lib in libs)],
        "nvidia-l4t-nvpmodel": ["/etc/nvpmodel"],
        "nvidia-l4t-nvfancontrol": ["/etc/nvpower/nvfancontrol"],
        "nvidia-l4t-init": ["/etc/systemd/nvpower.sh"],
        "nvidia-l4t-kernel": ["/boot/Image"],
        "nvidia-l4t-initrd": ["/boot/initrd"],
    }
    for pkg in packages:
        records.append(
            f"Package: {pkg}\nStatus: install ok installed\nPriority: standard\nSection: misc\n"
            f"Installed-Size: 1024\nMaintainer: NVIDIA Corporation\nArchitecture: arm64\n"
            f"Version: {release.deb_version}\nDescription: NVIDIA {pkg} package\n"
        )
        paths = owned.get(pkg, [f"/usr/share/doc/{pkg}"])
        files.text(f"var/lib/dpkg/info/{pkg}.list", "/.\n" + "".join(f"{p}\n" for p in paths))
    files.text("var/lib/dpkg/status", "\n".join(records))
    return files


def rootfs_files(
    board: SimBoard, release: SimRelease, image: bytes, *, cvb: bool
) -> tuple[TreeFiles, str]:
    """The rootfs (relative to ``rootfs/``) and the nv_tegra_release text."""
    files = TreeFiles()
    libs = {lib: b"\x7fELF" + pseudo_bytes(f"{lib}-{release.version}", 508) for lib in L4T_LIBS}
    for name, content in libs.items():
        files.data(f"{LIB_DIR}/{name}", content)
    release_text = nv_tegra_release_text(release, libs)
    files.text("etc/nv_tegra_release", release_text)
    files.merge(_dpkg(release, l4t_packages(board, release), list(libs)))
    files.text("etc/passwd", _PASSWD)
    files.text("etc/group", _GROUP)
    files.text("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    files.text("etc/hostname", "localhost\n")
    files.text(
        "etc/os-release",
        f'NAME="Ubuntu"\nVERSION_ID="{release.ubuntu.split()[0].rsplit(".", 1)[0]}"\n'
        f'PRETTY_NAME="Ubuntu {release.ubuntu}"\nID=ubuntu\n',
    )
    files.mkdir("home")
    files.mkdir("root")
    if release.major < 38:
        files.mkdir("etc/nv")
        files.link("etc/systemd/system/default.target", "/lib/systemd/system/nv-oem-config.target")
        files.text(
            "lib/systemd/system/nv-oem-config.target",
            "[Unit]\nDescription=NVIDIA OEM configuration\nConflicts=multi-user.target\n"
            "Wants=nv-oem-config.service\nAllowIsolate=yes\n",
        )
        files.text(
            "lib/systemd/system/nv-oem-config.service",
            "[Unit]\nDescription=NVIDIA OEM-config\n\n[Service]\nType=oneshot\n"
            "ExecStart=/usr/sbin/nv-oem-config-firstboot\n",
        )
    else:
        files.mkdir("etc/cloud/cloud.cfg.d")
        files.link("etc/systemd/system/default.target", "/lib/systemd/system/graphical.target")
    files.text(
        "lib/systemd/system/nvpower.service",
        "[Unit]\nDescription=NVIDIA power settings\nBefore=nv-oem-config.service\n\n"
        "[Service]\nType=oneshot\nExecStart=/etc/systemd/nvpower.sh\n",
    )
    power_files(files, board, release, cvb=cvb)
    files.data("boot/Image", image)
    files.data("boot/initrd", b"070701" + pseudo_bytes(f"rootfs-initrd-{release.version}", 8186))
    files.text(
        "boot/extlinux/extlinux.conf",
        "TIMEOUT 30\nDEFAULT primary\n\nMENU TITLE L4T boot options\n\n"
        "LABEL primary\n\tMENU LABEL primary kernel\n\tLINUX /boot/Image\n"
        "\tINITRD /boot/initrd\n\tAPPEND ${cbootargs} root=/dev/mmcblk0p1 rw rootwait\n",
    )
    return files, release_text


def bulk_rootfs(files: TreeFiles, release: SimRelease, count: int) -> None:
    """Many small files (documentation and kernel modules) for a full-size tree."""
    for index in range(count):
        group, item = divmod(index, 250)
        if group % 4 == 0:
            rel = f"lib/modules/{release.kernel}/kernel/drivers/m{group:03d}/mod{item:03d}.ko"
        else:
            rel = f"usr/share/doc/pkg{group:03d}/file{item:03d}.txt"
        files.data(rel, pseudo_bytes(rel, 128))
