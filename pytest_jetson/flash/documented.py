"""NVIDIA's documented initrd-flash command for T234 NVMe, per release, where the conf is silent.

R35 and R36 Orin confs name no external layout (no ``EXTERNAL_DEVICE``/``EXTERNAL_PT_LAYOUT``);
the Jetson Linux quick start of those releases flashes an Orin NX/Nano NVMe with::

    sudo ./tools/kernel_flash/l4t_initrd_flash.sh --external-device nvme0n1p1 \\
        -c tools/kernel_flash/flash_l4t_external.xml \\
        -p "-c bootloader/<target_board>/cfg/flash_t234_qspi.xml" \\
        --showlogs --network usb0 <board> internal

From R38 the confs carry the external device and layouts themselves (and take ``<board>
external``), so this table is consulted only when the evaluated conf sets no
``EXTERNAL_DEVICE``. With A/B rootfs the external layout is the T234 NVMe A/B layout the R36.2
tree ships (``tools/kernel_flash/flash_l4t_t234_nvme_rootfs_ab.xml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NvmeForm:
    """The documented flags of one release for T234 NVMe through l4t_initrd_flash.sh."""

    layout: str
    """``-c``: the external device's partition layout."""
    layout_ab: str
    """``-c`` with ``ROOTFS_AB=1``."""
    internal_layout: str
    """``-p "-c <this>"`` with ``{target_board}`` filled from the conf."""
    rootdev: str
    """The last positional argument."""

    def internal(self, target_board: str) -> str:
        """The QSPI layout for ``-p``."""
        return self.internal_layout.format(target_board=target_board)


_R35_R36 = NvmeForm(
    layout="tools/kernel_flash/flash_l4t_external.xml",
    layout_ab="tools/kernel_flash/flash_l4t_t234_nvme_rootfs_ab.xml",
    internal_layout="bootloader/{target_board}/cfg/flash_t234_qspi.xml",
    rootdev="internal",
)

DOCUMENTED_NVME: Mapping[int, NvmeForm] = {35: _R35_R36, 36: _R35_R36}
"""Release major → the documented T234 NVMe form, for confs that name no external layout."""
