"""Flash configuration files of the simulated AGX Thor trees (as in R38.4 and R39.2).

``p3834-0008-p4071-0000-nvme.conf`` → ``t264.conf.common`` → ``nv_public_common_board.conf``.
The PMIC dispatch on the FAB differs between R38.x and R39.2: R39.2 takes
the plain PMIC dts for FAB <= 400 (numeric, or EB0-8, TS0-4, RC0-1) and ``-vdd-fuse-aon``
otherwise; R38.4 is inverted (FAB > 400 gives ``-vdd-fuse-aon``).
"""

from __future__ import annotations

from pytest_jetson.sim.boards import SimRelease
from pytest_jetson.sim.tree_conf_orin import HEADER
from pytest_jetson.sim.tree_files import TreeFiles

_PUBLIC_COMMON = """\
# Settings shared by every board of the public L4T BSP.

target_board="generic";
ROOTFS_TYPE="ext4";
BOOTPARTSIZE=8388608;
ITS_FILE=;
SYSBOOTFILE=;
TBCFILE="bootloader/uefi_jetson.bin";
"""

_T264_COMMON = """\
# Settings shared by every T264 (Jetson Thor) board.

source "${LDK_DIR}/nv_public_common_board.conf";

CHIPID=0x26;
_UNIFIED_FLASH=1;
ROOTFSSIZE=55GiB;
COLDBOOT_BCT_CFG="bootloader/flash_l4t_t264_bct_cfg.xml";
DEFAULT_CHIP_SKU="00:00:00:00";
TOSFILE="bootloader/tos-optee_t264.img";
BOOTROM_CONFIG="";
#GPIOINT_CONFIG="tegra264-mb1-bct-gpioint-common.dts";
OVERLAY_DTB_FILE="L4TConfiguration.dtbo,tegra264-ftpm.dtbo,T264SetFmpImageTypeGuid.dtbo";
INITRD_IN_BOOTIMG="yes";
INITRD="bootloader/l4t_initrd.img";

# Two root file systems (A/B) share the space the single one had.
if [ "${ROOTFS_AB}" == 1 ]; then
	rootfs_ab=1;
	ROOTFSSIZE="$(( ${ROOTFSSIZE%GiB} / 2 ))GiB";
fi;

process_chip_sku_version()
{
	local chip_sku="${1:-${DEFAULT_CHIP_SKU}}";
	local chip_minor_revision_ID="${2}";
	local bootrom_revision_ID="${3}";
	local ramcode_ID="${4}";
	local fuselevel="${5}";
	local board_FAB="${6}";

	case "${chip_sku##*:}" in
	"A3")
		BPFFILE="bootloader/bpmp_t264-TA1080SA-A1_prod.bin";
		;;
	"E0")
		BPFFILE="bootloader/bpmp_t264-TE1090M-A1_prod.bin";
		;;
	"E2")
		BPFFILE="bootloader/bpmp_t264-TE1070M-A1_prod.bin";
		;;
	*)
		BPFFILE="bootloader/bpmp_t264-TA1090SA-A1_prod.bin";
		;;
	esac;
}
"""

_TOP = """\
# Jetson AGX Thor Developer Kit: P3834-0008 module, P4071-0000 carrier, NVMe boot.

source "${LDK_DIR}/t264.conf.common";

DTB_FILE="tegra264-p4071-0000+p3834-0008-nv.dtb";
TBCDTB_FILE="${DTB_FILE}";
BPFDTB_FILE="tegra264-bpmp-3834-0008-4071-xxxx.dtb";
PINMUX_CONFIG="tegra264-mb1-bct-pinmux-p3834-xxxx-p4071-0000.dts";
PMC_CONFIG="tegra264-mb1-bct-padvoltage-p3834-xxxx-p4071-0000.dts";
GPIOINT_CONFIG="tegra264-mb1-bct-gpioint-p3834-xxxx-p4071-0000.dts";
MISC_CONFIG="tegra264-mb1-bct-misc-p3834-0008-p4071-0000.dts";
MB2_BCT="tegra264-mb2-bct-misc-p3834-xxxx-p4071-0000.dts";
SCR_CONFIG="tegra264-mb2-bct-firewall-p3834-xxxx-p4071-0000.dts";
PMIC_CONFIG="@PMIC@";
DEVICE_CONFIG="tegra264-mb1-bct-device-p3834-xxxx.dts";
DEVICEPROD_CONFIG="tegra264-mb1-bct-cprod-p3834-xxxx-p4071-0000.dts";
PROD_CONFIG="tegra264-mb1-bct-prod-p3834-xxxx-p4071-0000.dts";
MINRATCHET_CONFIG="tegra264-mb1-bct-ratchet-p3834-xxxx-p4071-0000.dts";
UPHY_CONFIG="tegra264-mb1-bct-uphy-lanes-p4071-0000.dts";
EMC_BCT="tegra264-p3834-0008-sdram-bct-l4t.dts";
BPMP_MEM_CONFIG="tegra264-p3834-0008-bpmp-mem-config-l4t.dts";
RAMCODE=12;
EXTERNAL_DEVICE="nvme0n1p1";
EXTERNAL_PT_LAYOUT="tools/kernel_flash/flash_l4t_t264_nvme.xml";
CMDLINE_ADD="earlycon=tegra_utc,mmio32,0xc5a0000 console=ttyUTC0,115200 fbcon=map:0";
OVERLAY_DTB_FILE+=",tegra264-p4071-0000+p3834-xxxx-dynamic.dtbo";

# The external layout follows the root file system options the flow tool is run with.
if [[ "${ROOTFS_AB}" == 1 && "${ROOTFS_ENC}" == "" ]]; then
	EXTERNAL_PT_LAYOUT="tools/kernel_flash/flash_l4t_t264_nvme_rootfs_ab.xml";
elif [[ "${ROOTFS_AB}" == "" && "${ROOTFS_ENC}" == 1 ]]; then
	disk_enc_enable=1;
	EXTERNAL_PT_LAYOUT="tools/kernel_flash/flash_l4t_t264_nvme_rootfs_enc.xml";
elif [[ "${ROOTFS_AB}" == 1 && "${ROOTFS_ENC}" == 1 ]]; then
	disk_enc_enable=1;
	EXTERNAL_PT_LAYOUT="tools/kernel_flash/flash_l4t_t264_nvme_rootfs_ab_enc.xml";
fi;

update_flash_args()
{
	local fab="${board_FAB}";

@DISPATCH@
}
"""

PMIC_PLAIN = "tegra264-mb1-bct-pmic-p3834-0008-p4071-0000.dts"
PMIC_AON = "tegra264-mb1-bct-pmic-p3834-0008-p4071-0000-vdd-fuse-aon.dts"

_DISPATCH_R39 = f"""\
	# Boards up to FAB 400 (and the EB/TS/RC builds) have no always-on VDD_FUSE rail.
	if [[ "${{fab}}" =~ ^[0-9]+$ ]]; then
		if [ "$((10#${{fab}}))" -le 400 ]; then
			PMIC_CONFIG="{PMIC_PLAIN}";
		fi;
	elif [[ "${{fab}}" =~ ^(EB[0-8]|TS[0-4]|RC[0-1])$ ]]; then
		PMIC_CONFIG="{PMIC_PLAIN}";
	fi;"""

_DISPATCH_R38 = f"""\
	# Boards after FAB 400 power VDD_FUSE from the always-on rail.
	if [[ "${{fab}}" =~ ^[0-9]+$ ]] && [ "$((10#${{fab}}))" -gt 400 ]; then
		PMIC_CONFIG="{PMIC_AON}";
	else
		PMIC_CONFIG="{PMIC_PLAIN}";
	fi;"""

_T4000 = """\
# Jetson AGX Thor T4000 (P3834-0000) on the P4071-0000 carrier, NVMe boot.

source "${LDK_DIR}/p3834-0008-p4071-0000-nvme.conf";

DTB_FILE="tegra264-p4071-0000+p3834-0000-nv.dtb";
TBCDTB_FILE="${DTB_FILE}";
BPFDTB_FILE="tegra264-bpmp-3834-0000-4071-xxxx.dtb";
EMC_BCT="tegra264-p3834-0000-sdram-bct-l4t.dts";
"""


def thor_confs(files: TreeFiles, release: SimRelease, *, gpio_config: bool) -> None:
    """Write the Thor conf chain, its devkit symlink and the sibling confs."""
    files.text(
        "nv_public_common_board.conf",
        HEADER.format(what="Public BSP common settings.") + "\n" + _PUBLIC_COMMON,
    )
    files.text(
        "t264.conf.common", HEADER.format(what="T264 common settings.") + "\n" + _T264_COMMON
    )
    r39 = release.at_least(39)
    top = _TOP.replace("@PMIC@", PMIC_AON if r39 else PMIC_PLAIN).replace(
        "@DISPATCH@", _DISPATCH_R39 if r39 else _DISPATCH_R38
    )
    if gpio_config:
        top += '\nGPIO_CONFIG="tegra264-mb1-bct-gpio-p3834-xxxx-p4071-0000.dts";\n'
    files.text(
        "p3834-0008-p4071-0000-nvme.conf",
        HEADER.format(what="Jetson AGX Thor Developer Kit.") + "\n" + top,
    )
    files.link("jetson-agx-thor-devkit.conf", "p3834-0008-p4071-0000-nvme.conf")
    files.text(
        "p3834-0000-p4071-0000-nvme.conf",
        HEADER.format(what="Jetson AGX Thor T4000.") + "\n" + _T4000,
    )
    files.link("jetson-agx-thor-t4000.conf", "p3834-0000-p4071-0000-nvme.conf")
    files.link("igx-thor-devkit.conf", "p3834-0008-p4071-0000-nvme.conf")
    files.link("igx-thor-devkit-mini.conf", "p3834-0008-p4071-0000-nvme.conf")
