"""Conf values the way flash.sh gets them: bash sources the conf chain, then the hooks run.

This is the one evaluator of L4T board confs: the flash plan, the preflight, derive-carrier's
checks and the simulator's tools all read conf values through it. NVIDIA's confs assign
variables at top level and again inside ``if`` branches on ``ROOTFS_AB``/``ROOTFS_ENC`` and in
hooks, so only bash knows the value a flash uses.

What flash.sh does, and so what :func:`evaluate_conf` does: ``cd`` into the LFT, set
``LDK_DIR``, ``rootfs_ab=0``, ``disk_enc_enable=0`` and ``bup_blob=0``, source
``${LDK_DIR}/<board>.conf`` (with ``ROOTFS_AB=1`` in the environment only when A/B is asked
for; ``ROOTFS_ENC`` is never set), then call the dispatch hooks the conf defines, in order:

* ``process_board_version "${board_id}" "${board_FAB}" "${board_sku}" "${board_revision}"
  "${hwchiprev}" "${BL_DIR}/cvm.bin"``;
* ``process_chip_sku_version "${chip_SKU}" "${chip_minor_revision_ID}"
  "${bootrom_revision_ID}" "${ramcode_ID}" "${fuselevel}" "${board_FAB}"``;
* ``update_flash_args "${emcfuse_bin}" "${emcfuse_value}"`` and
  ``update_emmc_cfg_for_bup "${bup_type}"``.

The device readers (``get_board_version``, ``get_chip_info_details``, ...) are not called: the
board identity and chip SKU are the inputs, as when flash.sh is given ``BOARDID``/``FAB``/
``BOARDSKU``/``BOARDREV``/``CHIP_SKU``. Which values flash.sh ends up with for a given EEPROM
and environment is :func:`flash_sh_identity`'s job.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.runner import run
from pytest_jetson.lft.paths import Lft, as_lft, conf_filename, resolve_conf

DISPATCH_HOOKS: tuple[str, ...] = (
    "get_fuse_level",
    "chk_soc_sanity",
    "get_board_version",
    "process_board_version",
    "get_chip_info_details",
    "process_chip_sku_version",
    "update_flash_args",
    "update_emmc_cfg_for_bup",
)
"""The hooks flash.sh calls after sourcing the conf, in order (each only when defined)."""
EEPROM_READERS: frozenset[str] = frozenset(
    {"get_fuse_level", "chk_soc_sanity", "get_board_version", "get_chip_info_details"}
)
"""Hooks that read the device; :func:`evaluate_conf` supplies their results instead."""
IDENTITY_VARIABLES: tuple[str, ...] = ("BOARDID", "BOARDSKU", "FAB", "BOARDREV")
"""The environment variables that stand for the EEPROM read, in the order NVIDIA writes them."""
DEFAULT_DEADLINE = 30.0


class ConfDispatchError(ConfigError):
    """Sourcing a conf or running its dispatch hooks failed (e.g. an unrecognized SKU).

    ``output`` is what bash printed; ``returncode`` its exit status.
    """

    def __init__(self, message: str, *, output: str, returncode: int, path: str) -> None:
        self.output = output
        self.returncode = returncode
        super().__init__(message, path=path)


@dataclass(frozen=True)
class BoardIdentity:
    """The four EEPROM values flash.sh dispatches a conf on; ``""`` for an empty field."""

    board_id: str = ""
    sku: str = ""
    fab: str = ""
    rev: str = ""

    def as_env(self) -> dict[str, str]:
        """``BOARDID``/``BOARDSKU``/``FAB``/``BOARDREV`` words, all four (empty ones too)."""
        return dict(
            zip(IDENTITY_VARIABLES, (self.board_id, self.sku, self.fab, self.rev), strict=True)
        )


def flash_sh_identity(eeprom: BoardIdentity, env: Mapping[str, str]) -> BoardIdentity:
    """The identity flash.sh dispatches on for an EEPROM and the tool's environment.

    flash.sh reads the EEPROM only when ``FAB`` is empty (or ``FORCE_ACCESS`` is set). With
    ``FAB`` set, ``BOARDID``/``BOARDSKU``/``BOARDREV`` come only from the environment and are
    empty when not given; without it, the EEPROM values stand and each variable that is set
    replaces its field.
    """
    if env.get("FAB") and not env.get("FORCE_ACCESS"):
        return BoardIdentity(
            env.get("BOARDID", ""), env.get("BOARDSKU", ""), env["FAB"], env.get("BOARDREV", "")
        )
    return BoardIdentity(
        env.get("BOARDID") or eeprom.board_id,
        env.get("BOARDSKU") or eeprom.sku,
        env.get("FAB") or eeprom.fab,
        env.get("BOARDREV") or eeprom.rev,
    )


_DISPATCH_SCRIPT = r"""
# Source an L4T board conf and run its dispatch hooks the way flash.sh does.
# Arguments: LDK_DIR BOARD RESULT_FILE RUN_HOOKS BOARD_ID FAB SKU REV CHIP_SKU FUSELEVEL
#            ROOTDEV ROOTFS_AB VAR...
# Writes "NAME\0VALUE\0" for every VAR that is set to RESULT_FILE.
unset ROOTFS_AB ROOTFS_ENC BOARDID BOARDSKU FAB BOARDREV CHIP_SKU FORCE_ACCESS;
LDK_DIR="${1}"; ext_target_board="${2}"; __jetson_result="${3}"; __jetson_hooks="${4}";
board_id="${5}"; board_FAB="${6}"; board_version="${6}"; board_sku="${7}";
board_revision="${8}"; chip_SKU="${9}"; fuselevel="${10}"; __jetson_rootdev="${11}";
if [ "${12}" = "1" ]; then export ROOTFS_AB=1; fi;
shift 12;
export LDK_DIR;
BL_DIR="${LDK_DIR}/bootloader";
TARGET_DIR="${BL_DIR}";
KERNEL_DIR="${LDK_DIR}/kernel";
rootfs_ab=0;
disk_enc_enable=0;
bup_blob=0;
hwchiprev="";
hwchipid="";
chip_minor_revision_ID="";
bootrom_revision_ID="";
ramcode_ID="";
cd "${LDK_DIR}" || exit 2;
if [ ! -r "${LDK_DIR}/${ext_target_board}.conf" ]; then
	echo "Error: Invalid target board - ${ext_target_board}.";
	exit 1;
fi;
source "${LDK_DIR}/${ext_target_board}.conf";
if [ -n "${__jetson_rootdev}" ]; then
	target_rootdev="${__jetson_rootdev}";
fi;
if [ "${__jetson_hooks}" = "1" ]; then
	if declare -F process_board_version > /dev/null 2>&1; then
		process_board_version "${board_id}" "${board_FAB}" "${board_sku}" \
			"${board_revision}" "${hwchiprev}" "${BL_DIR}/cvm.bin";
	fi;
	if declare -F process_chip_sku_version > /dev/null 2>&1; then
		process_chip_sku_version "${chip_SKU}" "${chip_minor_revision_ID}" \
			"${bootrom_revision_ID}" "${ramcode_ID}" "${fuselevel}" "${board_FAB}";
	fi;
	if declare -F update_flash_args > /dev/null 2>&1; then
		update_flash_args "" "";
	fi;
	if declare -F update_emmc_cfg_for_bup > /dev/null 2>&1; then
		update_emmc_cfg_for_bup "";
	fi;
fi;
: > "${__jetson_result}";
for __jetson_var in "$@"; do
	if [ -n "${!__jetson_var+x}" ]; then
		printf '%s\0%s\0' "${__jetson_var}" "${!__jetson_var}" >> "${__jetson_result}";
	fi;
done;
"""


def dispatch_script() -> str:
    """The bash text :func:`evaluate_conf` runs (``bash -c <text> bash <args...>``).

    Arguments: ``LDK_DIR BOARD RESULT_FILE RUN_HOOKS(0|1) BOARD_ID FAB SKU REV CHIP_SKU
    FUSELEVEL ROOTDEV ROOTFS_AB(0|1) VAR...``; ``BOARD`` is the conf name without ``.conf``;
    ``ROOTDEV`` may be empty. Each set ``VAR`` is appended to ``RESULT_FILE`` as
    ``NAME\\0VALUE\\0``. The conf's own output (errors such as ``Error: Unrecognized module
    SKU``) goes to stdout/stderr and a failing hook's exit status is bash's.
    """
    return _DISPATCH_SCRIPT


@dataclass(frozen=True)
class DispatchInputs:
    """What flash.sh knows before the hooks run: the board identity and the chip."""

    board_id: str
    board_sku: str
    fab: str
    chip_sku: str
    """Full form, ``00:00:00:D0``; empty lets the conf fall back to ``DEFAULT_CHIP_SKU``."""
    board_rev: str = ""
    fuselevel: str = "fuselevel_production"


def dispatch_argv(
    lft: Lft | Path | str,
    conf_name: str,
    inputs: DispatchInputs | None,
    variables: Sequence[str],
    result_file: Path,
    *,
    boot_device: str = "",
    rootfs_ab: bool = False,
) -> list[str]:
    """The argv that runs :func:`dispatch_script` (no hooks when ``inputs`` is None)."""
    tree = as_lft(lft)
    bash = shutil.which("bash")
    if bash is None:
        raise BenchError("bash is needed to evaluate L4T confs and is not on PATH")
    board = conf_filename(conf_name).removesuffix(".conf")
    given = inputs or DispatchInputs("", "", "", "")
    return [
        bash,
        "-c",
        _DISPATCH_SCRIPT,
        "bash",
        str(tree.root),
        board,
        str(result_file),
        "0" if inputs is None else "1",
        given.board_id,
        given.fab,
        given.board_sku,
        given.board_rev,
        given.chip_sku,
        given.fuselevel,
        boot_device,
        "1" if rootfs_ab else "0",
        *variables,
    ]


def _parse_result(data: bytes) -> dict[str, str]:
    parts = data.split(b"\0")
    return {
        parts[i].decode(): parts[i + 1].decode(errors="replace")
        for i in range(0, len(parts) - 1, 2)
    }


def evaluate_conf(
    lft: Lft | Path | str,
    conf_name: str,
    *,
    board_id: str,
    board_sku: str,
    fab: str,
    chip_sku: str,
    board_rev: str = "",
    fuselevel: str = "fuselevel_production",
    boot_device: str = "",
    rootfs_ab: bool = False,
    variables: Sequence[str],
    hooks: bool = True,
    timeout: float = DEFAULT_DEADLINE,
) -> dict[str, str]:
    """The flash-time values of ``variables`` for a board with these EEPROM/chip values.

    Sources the conf as flash.sh does (``ROOTFS_AB=1`` only with ``rootfs_ab``) and (with
    ``hooks``) runs its dispatch hooks; returns the variables that are set (an unset one, such
    as ``GPIO_CONFIG``, is absent). Raises :class:`ConfDispatchError` when bash exits non-zero
    (``Error: Unrecognized module SKU``), :class:`~pytest_jetson.errors.DeadlineExceeded` after
    ``timeout`` seconds.
    """
    tree = as_lft(lft)
    resolve_conf(tree, conf_name)
    inputs = DispatchInputs(board_id, board_sku, fab, chip_sku, board_rev, fuselevel)
    with tempfile.TemporaryDirectory(prefix="jetson-conf-") as tmp:
        result_file = Path(tmp) / "values"
        argv = dispatch_argv(
            tree,
            conf_name,
            inputs if hooks else None,
            variables,
            result_file,
            boot_device=boot_device,
            rootfs_ab=rootfs_ab,
        )
        result = run(
            argv,
            cwd=tree.root,
            timeout=timeout,
            what=f"sourcing {conf_filename(conf_name)} and its dispatch hooks",
        )
        if result.returncode != 0 or not result_file.exists():
            raise ConfDispatchError(
                f"{conf_filename(conf_name)} failed at flash-time dispatch for board_id "
                f"{board_id!r}, sku {board_sku!r}, FAB {fab!r}, chip_SKU {chip_sku!r} "
                f"(exit {result.returncode}): {result.tail(5) or 'no output'}",
                output=result.output,
                returncode=result.returncode,
                path=str(tree.conf(conf_name)),
            )
        return _parse_result(result_file.read_bytes())
