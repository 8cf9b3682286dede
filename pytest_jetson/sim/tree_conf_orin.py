"""Flash configuration files of the simulated Orin trees (AGX Orin and Orin Nano).

The split between the top conf, the ``.conf.common`` files and the dispatch hooks follows
the real R36 trees: most variables are set in a sourced ``.conf.common``, some in the top conf,
and some are reassigned at flash time by the hooks flash.sh calls in order. The text is our own.
"""

from __future__ import annotations

from pytest_jetson.sim.boards import SimRelease
from pytest_jetson.sim.tree_files import TreeFiles

HEADER = """\
# SPDX-License-Identifier: BSD-3-Clause
#
# Synthetic L4T flash configuration written by the pytest-jetson simulator.
# {what}
"""

_AGX_MODULE_COMMON = """\
# Settings shared by every carrier of the P3701 (Jetson AGX Orin) module.

target_board="generic";
CHIPID=0x23;
ROOTFSSIZE=57GiB;
EMMCSIZE=31276924928;
BOOTPARTSIZE=8388608;
ODMDATA="gbe-uphy-config-22,hsstp-lane-map-3,hsio-uphy-config-0";
CMDLINE_ADD="console=ttyTCU0,115200 console=ttyAMA0,115200 fbcon=map:0 nospectre_bhb";
target_rootdev="mmcblk0p1";
BPFFILE="bootloader/bpmp_t234-TE990M-A1_prod.bin";
TBCFILE="bootloader/uefi_jetson.bin";
TOSFILE="bootloader/tos-optee_t234.img";
OVERLAY_DTB_FILE="L4TConfiguration.dtbo,tegra234-p3701-overlay.dtbo";
PINMUX_CONFIG="tegra234-mb1-bct-pinmux-p3701-0000-a04.dtsi";
PMC_CONFIG="tegra234-mb1-bct-padvoltage-p3701-0000-a04.dtsi";
GPIOINT_CONFIG="tegra234-mb1-bct-gpioint-p3701-0000.dts";
MISC_CONFIG="tegra234-mb1-bct-misc-p3701-0000.dts";
MB2_BCT="tegra234-mb2-bct-misc-p3701-0000.dts";
SCR_CONFIG="tegra234-mb2-bct-scr-p3701-0000.dts";
PMIC_CONFIG="tegra234-mb1-bct-pmic-p3701-0000.dts";
DEVICE_CONFIG="tegra234-mb1-bct-device-p3701-0000.dts";
DEVICEPROD_CONFIG="tegra234-mb1-bct-cprod-p3701-0000.dts";
PROD_CONFIG="tegra234-mb1-bct-prod-p3701-0000.dts";
BOOTROM_CONFIG="tegra234-mb1-bct-reset-p3701-0000.dts";
MINRATCHET_CONFIG="tegra234-mb1-bct-ratchet-p3701-0000.dts";
UPHYLANE_CONFIG="tegra234-mb1-bct-uphylane-si.dtsi";
EMMC_BCT="tegra234-p3701-0000-sdram-l4t.dts";
WB0SDRAM_BCT="tegra234-p3701-0000-wb0sdram-l4t.dts";
DEFAULT_FAB="A00";
DEFAULT_CHIP_SKU="00:00:00:D0";
INITRD_IN_BOOTIMG="yes";
INITRD="rootfs/boot/initrd";

# Two root file systems (A/B) share the space the single one had.
if [ "${ROOTFS_AB}" == 1 ]; then
	rootfs_ab=1;
	ROOTFSSIZE="$(( ${ROOTFSSIZE%GiB} / 2 ))GiB";
fi;

# Modules of these FABs predate the a04 pinmux and pad voltage BCTs.
P3701_EARLY_FABS="TS1 TS2 TS3 EB1 EB2 EB3 000 100 200";

process_board_version()
{
	local board_id="${1}";
	local board_version="${2}";
	local board_sku="${3}";
	local board_revision="${4}";
	local chiprev="${5}";

	p3701_early_fab=0;
	for fab in ${P3701_EARLY_FABS}; do
		if [ "${board_version}" = "${fab}" ]; then
			p3701_early_fab=1;
		fi;
	done;
}

update_flash_args_common()
{
	local chip_sku="${chip_SKU:-${DEFAULT_CHIP_SKU}}";
	chip_sku="${chip_sku##*:}";

	case "${chip_sku}" in
	"90")
		BPFFILE="bootloader/bpmp_t234-TE992M-A1_prod.bin";
		;;
	"97" | "9E")
		BPFFILE="bootloader/bpmp_t234-TA990SA-A1_prod.bin";
		;;
	"D0" | "D2")
		BPFFILE="bootloader/bpmp_t234-TE990M-A1_prod.bin";
		;;
	esac;

	if [ "${board_sku}" = "0004" ] || [ "${board_sku}" = "0005" ]; then
		PMIC_CONFIG="tegra234-mb1-bct-pmic-p3701-0005.dts";
	fi;
	if [ "${board_sku}" = "0005" ]; then
		EMMC_BCT="tegra234-p3701-0005-sdram-l4t.dts";
		WB0SDRAM_BCT="tegra234-p3701-0005-wb0sdram-l4t.dts";
	elif [ "${board_sku}" = "0008" ]; then
		EMMC_BCT="tegra234-p3701-0008-sdram-l4t.dts";
		WB0SDRAM_BCT="tegra234-p3701-0008-wb0sdram-l4t.dts";
	fi;

	if [ "${p3701_early_fab:-0}" = "1" ] && [ "${board_sku}" != "0005" ]; then
		if [ "${chip_sku}" = "00" ] || [ "${chip_sku}" = "D0" ]; then
			PINMUX_CONFIG="tegra234-mb1-bct-pinmux-p3701-0000.dtsi";
			PMC_CONFIG="tegra234-mb1-bct-padvoltage-p3701-0000.dtsi";
		fi;
	fi;
}
"""

_AGX_CARRIER_COMMON = """\
# Settings of the P3737-0000 carrier with a P3701 module.

source "${LDK_DIR}/p3701.conf.common";

update_flash_args()
{
	update_flash_args_common;

	if [ "${board_sku}" = "0000" ] || [ "${board_sku}" = "0001" ] \\
		|| [ "${board_sku}" = "0002" ]; then
		DTB_FILE="tegra234-p3737-0000+p3701-0000-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3701-0000-3737-0000.dtb";
	elif [ "${board_sku}" = "0004" ]; then
		DTB_FILE="tegra234-p3737-0000+p3701-0004-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3701-0004-3737-0000.dtb";
	elif [ "${board_sku}" = "0005" ]; then
		DTB_FILE="tegra234-p3737-0000+p3701-0005-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3701-0005-3737-0000.dtb";
	elif [ "${board_sku}" = "0008" ]; then
		DTB_FILE="tegra234-p3737-0000+p3701-0008-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3701-0008-3737-0000.dtb";
	else
		echo "Error: Unrecognized module SKU ${board_sku}";
		exit 1;
	fi;
	TBCDTB_FILE="${DTB_FILE}";
}

EMMC_CFG=flash_t234_qspi_sdmmc.xml;

# The layout follows the root file system options flash.sh is run with.
if [[ "${ROOTFS_AB}" == 1 && "${ROOTFS_ENC}" == "" ]]; then
	EMMC_CFG=flash_t234_qspi_sdmmc_rootfs_ab.xml;
elif [[ "${ROOTFS_AB}" == "" && "${ROOTFS_ENC}" == 1 ]]; then
	disk_enc_enable=1;
	EMMC_CFG=flash_t234_qspi_sdmmc_enc_rfs.xml;
elif [[ "${ROOTFS_AB}" == 1 && "${ROOTFS_ENC}" == 1 ]]; then
	disk_enc_enable=1;
	EMMC_CFG=flash_t234_qspi_sdmmc_enc_rootfs_ab.xml;
fi;
"""

_AGX_TOP = """\
# Jetson AGX Orin Developer Kit: P3737-0000 carrier, P3701 module.

source "${LDK_DIR}/p3737-0000-p3701-0000.conf.common";

DTB_FILE="tegra234-p3737-0000+p3701-0000-nv.dtb";
TBCDTB_FILE="${DTB_FILE}";
OVERLAY_DTB_FILE="L4TConfiguration.dtbo,tegra234-p3737-0000+p3701-0000-dynamic.dtbo,tegra234-carveouts.dtbo,tegra-optee.dtbo,tegra234-p3737-camera-dual-imx274-overlay.dtbo,tegra234-p3737-camera-e3331-overlay.dtbo";
"""

AGX_CAMERA_DTBOS = (
    "tegra234-p3737-camera-dual-imx274-overlay.dtbo",
    "tegra234-p3737-camera-e3331-overlay.dtbo",
)

# name -> (symlink names, source conf, body)
_AGX_SIBLINGS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "p3737-0000-p3701-0000-maxn.conf": (
        ("jetson-agx-orin-devkit-maxn.conf",),
        "p3737-0000-p3701-0000.conf",
        'ODMDATA="gbe-uphy-config-22,hsstp-lane-map-3,hsio-uphy-config-0,maxn-power-mode";\n',
    ),
    "p3737-0000-p3701-0008.conf": (
        ("jetson-agx-orin-devkit-industrial.conf",),
        "p3737-0000-p3701-0000.conf",
        'DTB_FILE="tegra234-p3737-0000+p3701-0008-nv.dtb";\nTBCDTB_FILE="${DTB_FILE}";\n',
    ),
    "p3737-0000-p3701-0008-qspi.conf": (
        ("jetson-agx-orin-devkit-industrial-qspi.conf",),
        "p3737-0000-p3701-0008.conf",
        "EMMC_CFG=flash_t234_qspi.xml;\n",
    ),
    "p3737-0000-p3701-0008-maxn.conf": (
        ("jetson-agx-orin-devkit-industrial-maxn.conf",),
        "p3737-0000-p3701-0008.conf",
        'ODMDATA="gbe-uphy-config-22,hsstp-lane-map-3,hsio-uphy-config-0,maxn-power-mode";\n',
    ),
    "p3737-0000-p3701-0000-as-p3701-0004.conf": (
        ("jetson-agx-orin-devkit-as-jao-32gb.conf",),
        "p3737-0000-p3701-0000.conf",
        'OVERLAY_DTB_FILE+=",tegra234-p3737-0000+p3701-0000-as-p3701-0004.dtbo";\n',
    ),
    "p3737-0000-p3701-0000-as-p3767-0000.conf": (
        ("jetson-agx-orin-devkit-as-nx-16gb.conf",),
        "p3737-0000-p3701-0000.conf",
        'OVERLAY_DTB_FILE+=",tegra234-p3737-0000+p3701-0000-as-p3767-0000.dtbo";\n',
    ),
    "p3737-0000-p3701-0000-as-p3767-0001.conf": (
        ("jetson-agx-orin-devkit-as-nx-8gb.conf",),
        "p3737-0000-p3701-0000.conf",
        'OVERLAY_DTB_FILE+=",tegra234-p3737-0000+p3701-0000-as-p3767-0001.dtbo";\n',
    ),
    "p3737-0000-p3701-0000-as-p3767-0003.conf": (
        ("jetson-agx-orin-devkit-as-nano8gb.conf",),
        "p3737-0000-p3701-0000.conf",
        'OVERLAY_DTB_FILE+=",tegra234-p3737-0000+p3701-0000-as-p3767-0003.dtbo";\n',
    ),
    "p3737-0000-p3701-0000-as-p3767-0004.conf": (
        ("jetson-agx-orin-devkit-as-nano4gb.conf",),
        "p3737-0000-p3701-0000.conf",
        'OVERLAY_DTB_FILE+=",tegra234-p3737-0000+p3701-0000-as-p3767-0004.dtbo";\n',
    ),
}

AGX_EMULATION_DTBOS = tuple(
    f"tegra234-p3737-0000+p3701-0000-as-{m}.dtbo"
    for m in ("p3701-0004", "p3767-0000", "p3767-0001", "p3767-0003", "p3767-0004")
)


def _sibling(name: str, source: str, body: str) -> str:
    what = f"Variant of {source}."
    return HEADER.format(what=what) + f'\nsource "${{LDK_DIR}}/{source}";\n\n' + body


def agx_confs(files: TreeFiles, release: SimRelease, *, gpio_config: bool) -> None:
    """Write the AGX Orin conf chain, its devkit symlink and the sibling confs."""
    files.text(
        "p3701.conf.common",
        HEADER.format(what="P3701 module common settings.") + "\n" + _AGX_MODULE_COMMON,
    )
    files.text(
        "p3737-0000-p3701-0000.conf.common",
        HEADER.format(what="P3737-0000 carrier common settings.") + "\n" + _AGX_CARRIER_COMMON,
    )
    top = HEADER.format(what="Jetson AGX Orin Developer Kit.") + "\n" + _AGX_TOP
    if gpio_config:
        top += 'GPIO_CONFIG="tegra234-mb1-bct-gpio-p3701-0000-a04.dtsi";\n'
    files.text("p3737-0000-p3701-0000.conf", top)
    files.link("jetson-agx-orin-devkit.conf", "p3737-0000-p3701-0000.conf")
    for name, (links, source, body) in _AGX_SIBLINGS.items():
        files.text(name, _sibling(name, source, body))
        for link in links:
            files.link(link, name)


_NANO_MODULE_COMMON = """\
# Settings shared by every carrier of the P3767 (Jetson Orin NX / Orin Nano) module.

target_board="generic";
CHIPID=0x23;
ROOTFSSIZE=54GiB;
EMMC_CFG=flash_t234_qspi_sd.xml;
BOOTPARTSIZE=8388608;
ODMDATA="gbe-uphy-config-8,hsstp-lane-map-3,hsio-uphy-config-41";
CMDLINE_ADD="console=ttyTCU0,115200 firmware_class.path=/etc/firmware fbcon=map:0 nospectre_bhb";
target_rootdev="mmcblk0p1";
BPFFILE="bootloader/bpmp_t234-TE980M-A1_prod.bin";
TBCFILE="bootloader/uefi_jetson.bin";
TOSFILE="bootloader/tos-optee_t234.img";
OVERLAY_DTB_FILE="L4TConfiguration.dtbo,tegra234-carveouts.dtbo,tegra-optee.dtbo";
GPIOINT_CONFIG="tegra234-mb1-bct-gpioint-p3767-0000.dts";
MISC_CONFIG="tegra234-mb1-bct-misc-p3767-0000.dts";
MB2_BCT="tegra234-mb2-bct-misc-p3767-0000.dts";
SCR_CONFIG="tegra234-mb2-bct-scr-p3767-0000.dts";
PMIC_CONFIG="tegra234-mb1-bct-pmic-p3767-0000-a02.dts";
DEVICE_CONFIG="tegra234-mb1-bct-device-p3767-0000.dts";
DEVICEPROD_CONFIG="tegra234-mb1-bct-cprod-p3767-0000.dts";
PROD_CONFIG="tegra234-mb1-bct-prod-p3767-0000.dts";
BOOTROM_CONFIG="tegra234-mb1-bct-reset-p3767-0000.dts";
MINRATCHET_CONFIG="tegra234-mb1-bct-ratchet-p3767-0000.dts";
UPHYLANE_CONFIG="tegra234-mb1-bct-uphylane-si.dtsi";
EMMC_BCT="tegra234-p3767-0000-sdram-l4t.dts";
WB0SDRAM_BCT="tegra234-p3767-0000-wb0sdram-l4t.dts";
DEFAULT_CHIP_SKU="00:00:00:D3";
INITRD_IN_BOOTIMG="yes";
INITRD="rootfs/boot/initrd";

# Two root file systems (A/B) share the space the single one had.
if [ "${ROOTFS_AB}" == 1 ]; then
	rootfs_ab=1;
	ROOTFSSIZE="$(( ${ROOTFSSIZE%GiB} / 2 ))GiB";
fi;
if [ "${ROOTFS_ENC}" == 1 ]; then
	disk_enc_enable=1;
fi;

# Engineering-build modules that need the a00/a01 BCTs.
p3767_is_early_fab()
{
	[ "${1}" = "TS1" ] || [ "${1}" = "EB1" ];
}

process_board_version()
{
	local board_id="${1}";
	local board_version="${2}";
	local board_sku="${3}";
	local board_revision="${4}";
	local chiprev="${5}";

	if [ "${board_sku}" = "0000" ] || [ "${board_sku}" = "0002" ]; then
		if p3767_is_early_fab "${board_version}"; then
			PINMUX_CONFIG="tegra234-mb1-bct-pinmux-p3767-dp-a01.dtsi";
			PMC_CONFIG="tegra234-mb1-bct-padvoltage-p3767-dp-a01.dtsi";
			PMIC_CONFIG="tegra234-mb1-bct-pmic-p3767-0000-a00.dts";
		fi;
	fi;
}

update_flash_args_common()
{
	local chip_sku="${chip_SKU:-${DEFAULT_CHIP_SKU}}";
	chip_sku="${chip_sku##*:}";

	case "${chip_sku}" in
	"D3" | "D4")
		BPFFILE="bootloader/bpmp_t234-TE980M-A1_prod.bin";
		;;
	"D5" | "D6")
		BPFFILE="bootloader/bpmp_t234-TE950M-A1_prod.bin";
		;;
	esac;

	if [ "${board_sku}" = "0000" ] || [ "${board_sku}" = "0002" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-${board_sku}-nv.dtb";
		if p3767_is_early_fab "${board_FAB}"; then
			BPFDTB_FILE="tegra234-bpmp-3767-0000-a00-3509-a02.dtb";
		else
			BPFDTB_FILE="tegra234-bpmp-3767-0000-a02-3509-a02.dtb";
		fi;
		EMMC_BCT="tegra234-p3767-0000-sdram-l4t.dts";
	elif [ "${board_sku}" = "0001" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0001-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0001-3509-a02.dtb";
		EMMC_BCT="tegra234-p3767-0001-sdram-l4t.dts";
	elif [ "${board_sku}" = "0003" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0003-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0003-3509-a02.dtb";
		EMMC_BCT="tegra234-p3767-0001-sdram-l4t.dts";
	elif [ "${board_sku}" = "0004" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0004-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0004-3509-a02.dtb";
		EMMC_BCT="tegra234-p3767-0004-sdram-l4t.dts";
	elif [ "${board_sku}" = "0005" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0005-nv.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0003-3509-a02.dtb";
		EMMC_BCT="tegra234-p3767-0001-sdram-l4t.dts";
	fi;
	TBCDTB_FILE="${DTB_FILE}";
}
"""

_NANO_TOP = """\
# Jetson Orin Nano Developer Kit: P3768-0000 carrier, P3767 module.

source "${LDK_DIR}/p3767.conf.common";

DTB_FILE="tegra234-p3768-0000+p3767-0000-nv.dtb";
TBCDTB_FILE="${DTB_FILE}";
BPFDTB_FILE="tegra234-bpmp-3767-0000-a02-3509-a02.dtb";
PINMUX_CONFIG="tegra234-mb1-bct-pinmux-p3767-dp-a03.dtsi";
PMC_CONFIG="tegra234-mb1-bct-padvoltage-p3767-dp-a03.dtsi";
OVERLAY_DTB_FILE+=",tegra234-p3768-0000+p3767-0000-dynamic.dtbo";

update_flash_args()
{
	update_flash_args_common;
}
"""

_NANO_NVME = """\
# Orin Nano Developer Kit booting from NVMe.

source "${LDK_DIR}/p3768-0000-p3767-0000-a0.conf";

EMMC_CFG=flash_t234_qspi_nvme.xml;
target_rootdev="nvme0n1p1";
"""

_NANO_SUPER = """\
# Orin Nano Developer Kit in super mode (MAXN SUPER power modes).

source "${LDK_DIR}/p3768-0000-p3767-0000-a0.conf";

p3767_super_overlay()
{
	if p3767_is_early_fab "${board_FAB}"; then
		echo "Error: ${board_FAB} can't be used for super mode";
		exit 1;
	fi;

	if [ "${board_sku}" = "0000" ] || [ "${board_sku}" = "0002" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0000-nv-super.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0000-3768-super.dtb";
	elif [ "${board_sku}" = "0001" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0001-nv-super.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0001-3768-super.dtb";
	elif [ "${board_sku}" = "0003" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0003-nv-super.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0003-3768-super.dtb";
	elif [ "${board_sku}" = "0004" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0004-nv-super.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0004-3768-super.dtb";
	elif [ "${board_sku}" = "0005" ]; then
		DTB_FILE="tegra234-p3768-0000+p3767-0005-nv-super.dtb";
		BPFDTB_FILE="tegra234-bpmp-3767-0003-3768-super.dtb";
	fi;
	TBCDTB_FILE="${DTB_FILE}";
}

update_flash_args()
{
	update_flash_args_common;
	p3767_super_overlay;
}
"""

NANO_SKUS = ("0000", "0001", "0002", "0003", "0004", "0005")


def nano_confs(files: TreeFiles, release: SimRelease, *, gpio_config: bool) -> None:
    """Write the Orin Nano conf chain, the -nvme conf and (R36.4+) the super confs."""
    files.text(
        "p3767.conf.common",
        HEADER.format(what="P3767 module common settings.") + "\n" + _NANO_MODULE_COMMON,
    )
    top = HEADER.format(what="Jetson Orin Nano Developer Kit.") + "\n" + _NANO_TOP
    if gpio_config:
        top += '\nGPIO_CONFIG="tegra234-mb1-bct-gpio-p3767-dp-a03.dtsi";\n'
    files.text("p3768-0000-p3767-0000-a0.conf", top)
    files.link("jetson-orin-nano-devkit.conf", "p3768-0000-p3767-0000-a0.conf")
    files.text(
        "p3768-0000-p3767-0000-a0-nvme.conf",
        HEADER.format(what="Orin Nano Developer Kit, NVMe.") + "\n" + _NANO_NVME,
    )
    files.link("jetson-orin-nano-devkit-nvme.conf", "p3768-0000-p3767-0000-a0-nvme.conf")
    if release.at_least(36, 4):
        files.text(
            "p3768-0000-p3767-0000-super.conf",
            HEADER.format(what="Orin Nano Developer Kit, super mode.") + "\n" + _NANO_SUPER,
        )
        files.link("jetson-orin-nano-devkit-super.conf", "p3768-0000-p3767-0000-super.conf")
