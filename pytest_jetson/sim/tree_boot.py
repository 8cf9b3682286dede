"""Kernel, DTBs, bootloader binaries, partition layouts, tools directories and ``nv_tegra/``.

Binary content is synthetic but shaped: the kernel ``Image`` has an arm64 header and a
``Linux version`` string, DTBs are valid flattened device trees with the real model and
compatible strings of each devkit (``nvidia,p3737-0000+p3701-0000``, ``nvidia,tegra234``).
"""

from __future__ import annotations

import hashlib
import struct

from pytest_jetson.sim.boards import SimBoard, SimRelease
from pytest_jetson.sim.tree_conf_orin import AGX_CAMERA_DTBOS, AGX_EMULATION_DTBOS, NANO_SKUS
from pytest_jetson.sim.tree_fdt import Node, build_dtb
from pytest_jetson.sim.tree_files import TreeFiles

KERNEL_SMALL = 64 * 1024
KERNEL_FULL = 60 * 1024 * 1024

T234_BPF_SUFFIXES = ("TE990M-A1", "TE992M-A1", "TA990SA-A1", "TE980M-A1", "TE950M-A1")
T264_BPF_SUFFIXES = ("TA1080SA-A1", "TA1090SA-A1", "TE1090M-A1", "TE1070M-A1")


def pseudo_bytes(seed: str, size: int) -> bytes:
    """Deterministic filler bytes."""
    return hashlib.shake_256(seed.encode()).digest(size)


def kernel_image(release: SimRelease, size: int) -> bytes:
    """An arm64 kernel ``Image``: EFI stub header, ``ARM\\x64`` magic, a version string."""
    header = bytearray(64)
    header[0:4] = b"MZ@\xfa"
    struct.pack_into("<QQQ", header, 8, 0, size, 0x0A)
    header[0x38:0x3C] = b"ARM\x64"
    struct.pack_into("<I", header, 0x3C, 0x40)
    banner = (
        f"Linux version {release.kernel} (buildbrain@mobile-u64-6000-d7000) "
        f"(aarch64-buildroot-linux-gnu-gcc.br_real (Buildroot 2022.08) 11.3.0, GNU ld "
        f"(GNU Binutils) 2.38) #1 SMP PREEMPT {release.date}\n\0"
    ).encode()
    body = pseudo_bytes(f"Image-{release.version}-{size}", size - len(header) - len(banner))
    half = len(body) // 2
    return bytes(header) + body[:half] + banner + body[half:]


def _dtb(model: str, compatible: list[str], *, board_file: str) -> bytes:
    return build_dtb(
        Node(
            {"model": model, "compatible": compatible, "nvidia,dtsfilename": board_file},
            {"chosen": Node({"bootargs": ""}), "memory@80000000": Node({"device_type": "memory"})},
        )
    )


def _dtbo(name: str, compatible: list[str]) -> bytes:
    overlay = Node({"target-path": "/"}, {"__overlay__": Node({})})
    return build_dtb(
        Node(
            {"overlay-name": name.removesuffix(".dtbo"), "compatible": compatible},
            {"fragment@0": overlay},
        )
    )


def _t234_dtbs(release: SimRelease) -> dict[str, tuple[str, list[str]]]:
    dtbs: dict[str, tuple[str, list[str]]] = {}
    for sku in ("0000", "0004", "0005", "0008"):
        dtbs[f"tegra234-p3737-0000+p3701-{sku}-nv.dtb"] = (
            "NVIDIA Jetson AGX Orin Developer Kit",
            [f"nvidia,p3737-0000+p3701-{sku}", f"nvidia,p3701-{sku}", "nvidia,tegra234"],
        )
    for sku in NANO_SKUS:
        model = "NVIDIA Jetson Orin Nano Developer Kit"
        if sku in ("0000", "0001"):
            model = "NVIDIA Jetson Orin NX Engineering Reference Developer Kit"
        dtbs[f"tegra234-p3768-0000+p3767-{sku}-nv.dtb"] = (
            model,
            [f"nvidia,p3768-0000+p3767-{sku}", f"nvidia,p3767-{sku}", "nvidia,tegra234"],
        )
        if release.at_least(36, 4) and sku != "0002":
            dtbs[f"tegra234-p3768-0000+p3767-{sku}-nv-super.dtb"] = (
                "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super",
                [
                    f"nvidia,p3768-0000+p3767-{sku}-super",
                    f"nvidia,p3767-{sku}",
                    "nvidia,tegra234",
                ],
            )
    return dtbs


def _t264_dtbs() -> dict[str, tuple[str, list[str]]]:
    return {
        f"tegra264-p4071-0000+p3834-{sku}-nv.dtb": (
            "NVIDIA Jetson AGX Thor Developer Kit",
            [f"nvidia,p4071-0000+p3834-{sku}", f"nvidia,p3834-{sku}", "nvidia,tegra264"],
        )
        for sku in ("0008", "0000")
    }


def kernel_files(files: TreeFiles, board: SimBoard, release: SimRelease, image: bytes) -> None:
    """``kernel/Image``, ``kernel/dtb/*.dtb|*.dtbo`` and the kernel debs."""
    files.data("kernel/Image", image)
    t234 = board.chip.catalogue_id == "t234"
    dtbs = _t234_dtbs(release) if t234 else _t264_dtbs()
    for name, (model, compatible) in dtbs.items():
        files.data(f"kernel/dtb/{name}", _dtb(model, compatible, board_file=name[:-4] + ".dts"))
    if t234:
        overlays = [
            "L4TConfiguration.dtbo",
            "tegra234-p3701-overlay.dtbo",
            "tegra234-carveouts.dtbo",
            "tegra-optee.dtbo",
            "tegra234-p3737-0000+p3701-0000-dynamic.dtbo",
            "tegra234-p3768-0000+p3767-0000-dynamic.dtbo",
            *AGX_CAMERA_DTBOS,
            *AGX_EMULATION_DTBOS,
        ]
        chip_compat = ["nvidia,tegra234"]
    else:
        overlays = [
            "L4TConfiguration.dtbo",
            "tegra264-ftpm.dtbo",
            "T264SetFmpImageTypeGuid.dtbo",
            "tegra264-p4071-0000+p3834-xxxx-dynamic.dtbo",
        ]
        chip_compat = ["nvidia,tegra264"]
    for name in overlays:
        files.data(f"kernel/dtb/{name}", _dtbo(name, chip_compat))
    for pkg in ("nvidia-l4t-kernel", "nvidia-l4t-kernel-dtbs", "nvidia-l4t-kernel-headers"):
        files.data(f"kernel/{pkg}_{release.deb_version}_arm64.deb", b"!<arch>\n")


def _bpmp_dtbs(board: SimBoard, release: SimRelease) -> list[str]:
    if board.chip.catalogue_id == "t264":
        return [f"tegra264-bpmp-3834-{sku}-4071-xxxx.dtb" for sku in ("0008", "0000")]
    names = [f"tegra234-bpmp-3701-{sku}-3737-0000.dtb" for sku in ("0000", "0004", "0005", "0008")]
    names += [
        "tegra234-bpmp-3767-0000-a02-3509-a02.dtb",
        "tegra234-bpmp-3767-0000-a00-3509-a02.dtb",
        *(f"tegra234-bpmp-3767-{sku}-3509-a02.dtb" for sku in ("0001", "0003", "0004")),
    ]
    if release.at_least(36, 4):
        names += [
            f"tegra234-bpmp-3767-{sku}-3768-super.dtb" for sku in ("0000", "0001", "0003", "0004")
        ]
    return names


_PARTITION_XML = """\
<?xml version="1.0"?>
<!-- Synthetic partition layout written by the pytest-jetson simulator. -->
<partition_layout version="01.00.0000">
    <device type="{device}" instance="{instance}" sector_size="512" num_sectors="{sectors}">
{partitions}    </device>
</partition_layout>
"""


def partition_xml(device: str, instance: int, parts: list[str]) -> str:
    """A partition layout XML in the shape of ``flash_t234_qspi_sdmmc.xml``."""
    body = "".join(
        f'        <partition name="{p}" type="data">\n'
        f"            <allocation_policy> sequential </allocation_policy>\n"
        f"            <filename> {p}_FILE </filename>\n"
        f"        </partition>\n"
        for p in parts
    )
    return _PARTITION_XML.format(
        device=device, instance=instance, sectors=61071360, partitions=body
    )


_QSPI = ["BCT", "mb1", "psc_bl1", "MB1_BCT", "MEM_BCT", "A_mb2", "A_cpu-bootloader", "A_bpmp-fw"]
_ROOTFS = ["APP", "A_kernel", "A_kernel-dtb", "recovery", "esp", "UDA"]


def bootloader_files(files: TreeFiles, board: SimBoard, release: SimRelease) -> None:
    """``bootloader/`` binaries, BPMP DTBs and the partition layouts in ``generic/cfg``."""
    chip = board.chip.catalogue_id
    files.text(
        "bootloader/tegraflash.py",
        "#!/usr/bin/env python3\n# Placeholder for NVIDIA's tegraflash (simulated tree).\n"
        "import sys\nsys.exit('tegraflash.py is not available in the simulated tree')\n",
        executable=True,
    )
    for tool in ("tegrarcm_v2", "chkbdinfo", "tegrasign_v3.py", "tegraparser_v2"):
        files.data(f"bootloader/{tool}", b"\x7fELF" + pseudo_bytes(tool, 60), executable=True)
    for name in (
        f"mb1_{chip}_prod.bin",
        f"mb2_{chip}.bin",
        "uefi_jetson.bin",
        f"tos-optee_{chip}.img",
        f"psc_bl1_{chip}_prod.bin",
        "nvdisp-init.bin",
    ):
        files.data(f"bootloader/{name}", pseudo_bytes(name, 256))
    suffixes = T234_BPF_SUFFIXES if chip == "t234" else T264_BPF_SUFFIXES
    for suffix in suffixes:
        name = f"bpmp_{chip}-{suffix}_prod.bin"
        files.data(f"bootloader/{name}", pseudo_bytes(name, 256))
    if chip == "t264":
        # T264 confs name this initrd (INITRD); T234 confs name rootfs/boot/initrd and an
        # R36 tree has no bootloader/l4t_initrd.img at all.
        files.data(
            "bootloader/l4t_initrd.img",
            b"070701" + pseudo_bytes(f"initrd-{release.version}", 4090),
        )
    for name in _bpmp_dtbs(board, release):
        files.data(
            f"bootloader/generic/{name}",
            build_dtb(
                Node({"compatible": [f"nvidia,{board.chip.prefix}-bpmp"], "bpmp-dtb-name": name})
            ),
        )
    cfg = "bootloader/generic/cfg/"
    if chip == "t234":
        for name, device in (
            ("flash_t234_qspi_sdmmc.xml", "sdmmc_user"),
            ("flash_t234_qspi_sdmmc_rootfs_ab.xml", "sdmmc_user"),
            ("flash_t234_qspi_sdmmc_enc_rfs.xml", "sdmmc_user"),
            ("flash_t234_qspi_sdmmc_enc_rootfs_ab.xml", "sdmmc_user"),
            ("flash_t234_qspi_sd.xml", "sdcard"),
            ("flash_t234_qspi_nvme.xml", "nvme"),
        ):
            files.text(
                cfg + name, partition_xml("spi", 0, _QSPI) + partition_xml(device, 3, _ROOTFS)
            )
        files.text(cfg + "flash_t234_qspi.xml", partition_xml("spi", 0, _QSPI))
    else:
        files.text(cfg + "flash_t264_qspi.xml", partition_xml("spi", 0, _QSPI))
        files.text("bootloader/flash_l4t_t264_bct_cfg.xml", partition_xml("spi", 0, _QSPI[:5]))


def tools_files(files: TreeFiles, board: SimBoard, release: SimRelease) -> None:
    """The non-executable parts of ``tools/`` (helper tools are installed by the sim tools)."""
    kf = "tools/kernel_flash/"
    files.text(kf + "flash_l4t_external.xml", partition_xml("external", 0, _ROOTFS))
    files.text(kf + "flash_l4t_nvme.xml", partition_xml("nvme", 0, _ROOTFS))
    if board.chip.catalogue_id == "t264":
        for suffix in ("", "_rootfs_ab", "_rootfs_enc", "_rootfs_ab_enc"):
            files.text(kf + f"flash_l4t_t264_nvme{suffix}.xml", partition_xml("nvme", 0, _ROOTFS))
    else:
        for suffix in ("", "_rootfs_ab"):
            files.text(kf + f"flash_l4t_t234_nvme{suffix}.xml", partition_xml("nvme", 0, _ROOTFS))
    files.text(
        kf + "host_udev/99-l4t-host.rules",
        "".join(
            f'SUBSYSTEM=="block", ENV{{ID_VENDOR_ID}}=="0955", ENV{{ID_MODEL}}=="{m}", '
            f'SYMLINK+="l4t-{m}"\n'
            for m in ("mmc0", "ext0", "mmc0b0", "mmc0b1")
        ),
    )
    files.mkdir(kf + "initrd_flash")
    ba = "tools/board_automation/"
    files.mkdir(ba)
    if release.major < 38:
        files.text(ba + "nvtopo.py", "# Placeholder for NVIDIA's nvtopo module (simulated tree).\n")
        files.data(ba + "libnvtopo.so", b"\x7fELF" + pseudo_bytes("libnvtopo", 60))
    else:
        targets = ba + "_targets/"
        files.text(targets + "_base.py", "# Shared helpers of the boardctl targets.\n")
        for name in ("topo", "thor-jetson-module"):
            files.text(targets + f"{name}.py", f"# boardctl target: {name}\n")
        if release.at_least(39):
            files.link(targets + "orin-jetson.py", "topo.py")
    if release.at_least(39):
        files.link("l4t_initrd_flash.sh", "tools/kernel_flash/l4t_initrd_flash.sh")


L4T_LIBS = ("libnvos.so", "libnvrm_gpu.so", "libnvrm_mem.so", "libnvtegrahv.so", "libnvdc.so")


def nv_tegra_files(
    files: TreeFiles, release: SimRelease, nv_tegra_release: str, packages: list[str]
) -> None:
    """``nv_tegra/``: release files and the L4T debs."""
    files.text("nv_tegra/nv_tegra_release", nv_tegra_release)
    files.text(
        "nv_tegra/bsp_version",
        "# L4T BSP version\n"
        f"BSP_BRANCH={release.major}\nBSP_MAJOR={release.revision.split('.')[0]}\n"
        f"BSP_MINOR={release.revision.split('.')[1]}\nBSP_VERSION={release.dotted}\n",
    )
    files.text("nv_tegra/user_version", "USER_MAJOR_NUM=0\nUSER_MINOR_NUM=0\n")
    for pkg in packages:
        files.data(f"nv_tegra/l4t_deb_packages/{pkg}_{release.deb_version}_arm64.deb", b"!<arch>\n")
    files.text(
        "nv_tegra/nv-apply-debs.sh",
        "#!/bin/bash\n# Placeholder for NVIDIA's nv-apply-debs.sh (simulated tree).\nexit 0\n",
        executable=True,
    )
