"""``rootfs/etc/systemd/nvpower.sh`` with the real script's cascades (structure only):
the nvpmodel and fan-control confs are picked by the compatible string, falling back to a
generic conf.

The text is our own. Two variants: without a carrier (``cvb``) block, like R35, and with one
(a ``cvb`` cascade on the compatible string, a ``_super`` choice and a cvb-keyed fan cascade),
so that derive-carrier's anchors exist in one and are missing in the other.
"""

from __future__ import annotations

_HEAD = """\
#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Synthetic nvpower.sh written by the pytest-jetson simulator (not an NVIDIA file).
# Run by nvpower.service as a oneshot before the oem-config units.

SCRIPT_NAME="$(basename "${0}")"
SOCFAMILY=""
machine=""
"""

_T234_NARROW = """\
		if [[ "${machine}" =~ "p3701" ]]; then
			if [[ "${machine}" =~ "p3701-0000-as-p3767-0000" ]]; then
				machine="p3767-0000"
			elif [[ "${machine}" =~ "p3701-0000-as-p3767-0001" ]]; then
				machine="p3767-0001"
			elif [[ "${machine}" =~ "p3701-0000-as-p3767-0003" ]]; then
				machine="p3767-0003"
			elif [[ "${machine}" =~ "p3701-0000-as-p3767-0004" ]]; then
				machine="p3767-0004"
			elif [[ "${machine}" =~ "p3701-0002" ]]; then
				machine="p3701-0002"
			elif [[ "${machine}" =~ "p3701-0000-as-p3701-0004" ]]; then
				machine="p3701-0004"
			elif [[ "${machine}" =~ "p3701-0004" ]]; then
				machine="p3701-0004"
@AGX_DEFAULT@			else
				machine="p3701-0000"
			fi
			SOCFAMILY="tegra234"
		elif [[ "${machine}" =~ "p3767" ]]; then
			if [[ "${machine}" =~ "p3767-0000-as-p3767-0001" ]]; then
				machine="p3767-0001"
			elif [[ "${machine}" =~ "p3767-0000-as-p3767-0003" ]]; then
				machine="p3767-0003"
			elif [[ "${machine}" =~ "p3767-0000-as-p3767-0004" ]]; then
				machine="p3767-0004"
			elif [[ "${machine}" =~ "p3767-0001" ]]; then
				machine="p3767-0001"
			elif [[ "${machine}" =~ "p3767-0002" ]]; then
				machine="p3767-0002"
			elif [[ "${machine}" =~ "p3767-0003" ]]; then
				machine="p3767-0003"
			elif [[ "${machine}" =~ "p3767-0004" ]]; then
				machine="p3767-0004"
			elif [[ "${machine}" =~ "p3767-0005" ]]; then
				machine="p3767-0005"
@NANO_DEFAULT@			else
				machine="p3767-0000"
			fi
			SOCFAMILY="tegra234"
"""

_T264_NARROW = """\
		@ELIF@ [[ "${machine}" =~ "p3834" ]]; then
			if [[ "${machine}" =~ "p3834-0000" ]]; then
				machine="p3834-0000"
@THOR_DEFAULT@			else
				machine="p3834-0008"
			fi
			SOCFAMILY="tegra264"
"""

_CVB = """\
		if [[ "${machine}" =~ "p3509" ]]; then
			cvb="3509"
		elif [[ "${machine}" =~ "p3768" ]]; then
			cvb="3768"
		elif [[ "${machine}" =~ "p3737" ]]; then
			cvb="3737"
		elif [[ "${machine}" =~ "p4071" ]]; then
			cvb="4071"
		fi
		if [[ "${machine}" =~ "-super" ]]; then
			super="_super"
		fi
"""

_T234_NVPMODEL = """\
	if [ "${SOCFAMILY}" = "tegra234" ]; then
		if [ "${machine}" = "p3767-0003" ] || [ "${machine}" = "p3767-0005" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3767_0003@SUPER@.conf"
		elif [ "${machine}" = "p3767-0004" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3767_0004@SUPER@.conf"
		elif [ "${machine}" = "p3767-0001" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3767_0001@SUPER@.conf"
		elif [ "${machine}" = "p3767-0000" ] || [ "${machine}" = "p3767-0002" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3767_0000@SUPER@.conf"
		elif [ "${machine}" = "p3701-0004" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3701_0004.conf"
		elif [ "${machine}" = "p3701-0002" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3701_0002.conf"
		else
			conf_file="/etc/nvpmodel/nvpmodel_p3701_0000.conf"
		fi
"""

_T264_NVPMODEL = """\
	@ELIF@ [ "${SOCFAMILY}" = "tegra264" ]; then
		if [ "${machine}" = "p3834-0000" ]; then
			conf_file="/etc/nvpmodel/nvpmodel_p3834_0000.conf"
		else
			conf_file="/etc/nvpmodel/nvpmodel_p3834_0008.conf"
		fi
"""

_T234_FAN = """\
	if [ "${SOCFAMILY}" = "tegra234" ]; then
		if [ "${machine}" = "p3701-0002" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3701_0002.conf"
		elif [[ "${machine}" =~ "p3767" ]]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3767_0000.conf"
		else
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3701_0000.conf"
		fi
"""

_T234_FAN_CVB = """\
	if [ "${SOCFAMILY}" = "tegra234" ]; then
		if [ "${cvb}" = "3768" ] || [ "${cvb}" = "3509" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3767_0000.conf"
		elif [ "${machine}" = "p3701-0002" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3701_0002.conf"
		elif [[ "${machine}" =~ "p3767" ]]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3767_0000.conf"
		else
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3701_0000.conf"
		fi
"""

_T264_FAN = """\
	@ELIF@ [ "${SOCFAMILY}" = "tegra264" ]; then
		if [ "${machine}" = "p3834-0000" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3834_0000_p4071_0000.conf"
		else
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3834_0008_p4071_0000.conf"
		fi
"""

_T264_FAN_CVB = """\
	@ELIF@ [ "${SOCFAMILY}" = "tegra264" ]; then
		if [ "${cvb}" = "4071" ] && [ "${machine}" = "p3834-0000" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3834_0000_p4071_0000.conf"
		elif [ "${cvb}" = "4071" ]; then
			conf_file="/etc/nvpower/nvfancontrol/nvfancontrol_p3834_0008_p4071_0000.conf"
		fi
"""

_LINK = """\
	fi

	if [ -n "${conf_file}" ]; then
		if [ -e "${conf_file}" ]; then
			if [ ! -e "@TARGET@" ]; then
				ln -sf "${conf_file}" "@TARGET@"
			fi
		else
			echo "${SCRIPT_NAME} - WARNING: file ${conf_file} not found!"
		fi
	fi
}
"""

_TAIL = """\
set_permissions()
{
	chmod 0664 /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor 2>/dev/null
}

setup_cpus()
{
	for cpu in /sys/devices/system/cpu/cpu[0-9]*; do
		if [ -e "${cpu}/online" ]; then
			echo 1 > "${cpu}/online" 2>/dev/null
		fi
		if [ -e "${cpu}/cpufreq/scaling_governor" ]; then
			echo schedutil > "${cpu}/cpufreq/scaling_governor" 2>/dev/null
		fi
	done
}

validate_nvpmodel_conf()
{
	if [ ! -e /etc/nvpmodel.conf ]; then
		echo "${SCRIPT_NAME} - WARNING: /etc/nvpmodel.conf is missing"
	fi
}

setup_hwmon()
{
	for hwmon in /sys/class/hwmon/hwmon*; do
		[ -e "${hwmon}/name" ] || continue
	done
}

set_socfamily
set_permissions
create_nvpmodel_symlink
create_nvfancontrol_symlink
setup_cpus
validate_nvpmodel_conf
setup_hwmon
"""


def _explicit(text: str, cvb: bool) -> str:
    """The cvb variant names every module SKU in its own ``elif`` (the R35 text falls through
    to ``else`` for the default SKU)."""
    for marker, module in (
        ("@AGX_DEFAULT@", "p3701-0000"),
        ("@NANO_DEFAULT@", "p3767-0000"),
        ("@THOR_DEFAULT@", "p3834-0008"),
    ):
        branch = (
            f'\t\t\telif [[ "${{machine}}" =~ "{module}" ]]; then\n\t\t\t\tmachine="{module}"\n'
        )
        text = text.replace(marker, branch if cvb else "")
    return text


def nvpower_sh(*, t234: bool, t264: bool, cvb: bool) -> str:
    """The nvpower.sh text for the chip families of a tree, with or without the cvb block."""
    out = [_HEAD]
    if cvb:
        out.append('cvb=""\nsuper=""\n')
    out.append(
        "\nset_socfamily()\n{\n"
        '\tif [ -e "/proc/device-tree/compatible" ]; then\n'
        "\t\tmachine=\"$(tr -d '\\0' < /proc/device-tree/compatible)\"\n"
    )
    if cvb:
        out.append(_CVB)
    if t234:
        out.append(_explicit(_T234_NARROW, cvb))
    if t264:
        out.append(_explicit(_T264_NARROW, cvb).replace("@ELIF@", "elif" if t234 else "if"))
    out.append(
        "\t\tfi\n"
        '\telif [ -e "/proc/device-tree/model" ]; then\n'
        "\t\tmachine=\"$(tr -d '\\0' < /proc/device-tree/model)\"\n"
        "\tfi\n"
        '\tif [ -z "${SOCFAMILY}" ]; then\n'
        f'\t\tSOCFAMILY="{"tegra234" if t234 else "tegra264"}"\n'
        "\tfi\n}\n\n"
    )
    out.append('create_nvpmodel_symlink()\n{\n\tlocal conf_file=""\n\n')
    if t234:
        out.append(_T234_NVPMODEL.replace("@SUPER@", "${super}" if cvb else ""))
    if t264:
        out.append(_T264_NVPMODEL.replace("@ELIF@", "elif" if t234 else "if"))
    out.append(_LINK.replace("@TARGET@", "/etc/nvpmodel.conf") + "\n")
    out.append('create_nvfancontrol_symlink()\n{\n\tlocal conf_file=""\n\n')
    if t234:
        out.append(_T234_FAN_CVB if cvb else _T234_FAN)
    if t264:
        out.append(
            (_T264_FAN_CVB if cvb else _T264_FAN).replace("@ELIF@", "elif" if t234 else "if")
        )
    out.append(_LINK.replace("@TARGET@", "/etc/nvfancontrol.conf") + "\n")
    out.append(_TAIL)
    return "".join(out)
