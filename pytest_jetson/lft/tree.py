"""Paths and conf reading inside a Linux_for_Tegra (LFT) tree.

Works on NVIDIA's real trees (facts.md §1, §3, §9): the devkit ``.conf`` symlinks, the
``source "${LDK_DIR}/..."`` chains into ``.conf.common`` files, the dispatch hooks that
reassign variables at flash time, ``nv_tegra_release``, and the per-release tool paths.

Conf evaluation (:func:`evaluate_conf`) runs bash the way flash.sh does: it sources
``${LDK_DIR}/<board>.conf`` with ``LDK_DIR`` set to the LFT, sets the globals flash.sh
sets from the EEPROM and chip info, and calls the dispatch hooks the conf defines, in
flash.sh's order (facts.md §1 "Flash-time dispatch"). The hook calling convention is:

* globals: ``board_id``, ``board_version`` and ``board_FAB`` (both the FAB), ``board_sku``,
  ``board_revision``, ``chip_SKU`` (``00:00:00:D0``), ``chiprev``, ``chip_minor_revision_ID``,
  ``bootrom_revision_ID``, ``ramcode_ID``, ``fuselevel``, ``hwchipid``, ``target_rootdev``
  (when a boot device is given), ``ext_target_board``;
* ``process_board_version "${board_id}" "${board_version}" "${board_sku}"
  "${board_revision}" "${chiprev}"``;
* ``process_chip_sku_version "${chip_SKU}" "${chip_minor_revision_ID}"
  "${bootrom_revision_ID}" "${ramcode_ID}" "${fuselevel}" "${board_FAB}"``;
* ``update_flash_args`` and ``update_emmc_cfg_for_bup`` without arguments.

The EEPROM and chip-info readers (``get_fuse_level``, ``chk_soc_sanity``,
``get_board_version``, ``get_chip_info_details``) are not called: their results are the
inputs, exactly as the ``BOARDID``/``FAB``/``BOARDSKU``/``BOARDREV``/``CHIP_SKU``/``FUSELEVEL``
environment overrides make flash.sh skip them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.runner import run

LFT_DIRNAME = "Linux_for_Tegra"
BOARDCTL_RELPATH = "tools/board_automation/boardctl"
INITRD_FLASH_TOP = "l4t_initrd_flash.sh"
INITRD_FLASH_TOOLS = "tools/kernel_flash/l4t_initrd_flash.sh"
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
DEFAULT_DEADLINE = 30.0


class ConfDispatchError(ConfigError):
    """Sourcing a conf or running its dispatch hooks failed (e.g. an unrecognized SKU).

    ``output`` is what bash printed; ``returncode`` its exit status.
    """

    def __init__(self, message: str, *, output: str, returncode: int, path: str) -> None:
        self.output = output
        self.returncode = returncode
        super().__init__(message, path=path)


# --------------------------------------------------------------------------- release


@dataclass(frozen=True)
class L4tRelease:
    """The first line of ``nv_tegra_release``: ``# R36 (release), REVISION: 4.3, ...``."""

    major: int
    revision: str
    """``4.3``."""
    gcid: str = ""
    board: str = ""
    """``generic`` (R35: ``t186ref``)."""
    date: str = ""
    kernel_variant: str = ""
    """``oot`` from ``# KERNEL_VARIANT: oot`` (R36+), else empty."""

    @property
    def version(self) -> str:
        """Profile form: ``R36.4.3``."""
        return f"R{self.major}.{self.revision}"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """``(36, 4, 3)``, for comparisons."""
        return (self.major, *(int(p) for p in self.revision.split(".")))


_RELEASE_RE = re.compile(r"R(\d+)\b.*?REVISION:\s*(\d+)\.(\d+)")
_FIELD_RE = re.compile(r"\b(GCID|BOARD|EABI|DATE):\s*([^,]*?)\s*(?:,|$)")
_VERSION_RE = re.compile(r"^R(\d+)\.(\d+)\.(\d+)$")


def parse_nv_tegra_release(text: str) -> L4tRelease:
    """Parse ``nv_tegra_release`` text; :class:`ConfigError` when the R/REVISION line is missing."""
    for line in text.splitlines():
        match = _RELEASE_RE.search(line)
        if match is None:
            continue
        fields = dict(_FIELD_RE.findall(line))
        variant = re.search(r"KERNEL_VARIANT:\s*(\S+)", text)
        return L4tRelease(
            major=int(match.group(1)),
            revision=f"{int(match.group(2))}.{int(match.group(3))}",
            gcid=fields.get("GCID", ""),
            board=fields.get("BOARD", ""),
            date=fields.get("DATE", ""),
            kernel_variant=variant.group(1) if variant else "",
        )
    first = text.splitlines()[0] if text.strip() else "<empty>"
    raise ConfigError(
        f"not an nv_tegra_release: no 'R<major> ... REVISION: <minor>.<patch>' line "
        f"(first line: {first!r})"
    )


def parse_version(version: str) -> tuple[int, int, int]:
    """``R36.4.3`` → ``(36, 4, 3)``; :class:`ConfigError` on another form."""
    match = _VERSION_RE.match(version.strip())
    if match is None:
        raise ConfigError(f"not an L4T version: {version!r} (expected e.g. R36.4.3)")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


# --------------------------------------------------------------------------- paths


def conf_filename(name: str) -> str:
    """``jetson-agx-orin-devkit`` or ``jetson-agx-orin-devkit.conf`` → the file name."""
    return name if name.endswith(".conf") else f"{name}.conf"


@dataclass(frozen=True)
class Lft:
    """A Linux_for_Tegra directory and the paths the workflow needs inside it."""

    root: Path

    @classmethod
    def from_bsp_root(cls, root_path: Path | str) -> Lft:
        """The LFT of a ``bsp_image.root_path`` (``<root_path>/Linux_for_Tegra``)."""
        return cls(Path(root_path) / LFT_DIRNAME)

    def conf(self, name: str) -> Path:
        """The conf ``name`` at the top level (``.conf`` added when missing)."""
        return self.root / conf_filename(name)

    @property
    def bootloader(self) -> Path:
        """``bootloader/``."""
        return self.root / "bootloader"

    def target_board(self, conf_name: str | None = None) -> str:
        """``target_board`` of the conf chain (``generic``; R35 ``t186ref``).

        Without a conf, the only ``bootloader/<dir>/BCT`` present is used, else ``generic``.
        """
        if conf_name is not None:
            found = static_value(self, conf_name, "target_board")
            if found:
                return found
            return "generic"
        candidates = sorted(p.parent.name for p in self.bootloader.glob("*/BCT"))
        return candidates[0] if len(candidates) == 1 else "generic"

    def bct_dir(self, conf_name: str | None = None) -> Path:
        """``bootloader/<target_board>/BCT``."""
        return self.bootloader / self.target_board(conf_name) / "BCT"

    def cfg_dir(self, conf_name: str | None = None) -> Path:
        """``bootloader/<target_board>/cfg`` (partition layouts)."""
        return self.bootloader / self.target_board(conf_name) / "cfg"

    @property
    def kernel_dir(self) -> Path:
        """``kernel/``."""
        return self.root / "kernel"

    @property
    def kernel_dtb_dir(self) -> Path:
        """``kernel/dtb/``."""
        return self.root / "kernel" / "dtb"

    @property
    def kernel_image(self) -> Path:
        """``kernel/Image``."""
        return self.root / "kernel" / "Image"

    @property
    def rootfs(self) -> Path:
        """``rootfs/``."""
        return self.root / "rootfs"

    @property
    def rootfs_image(self) -> Path:
        """``rootfs/boot/Image`` (must equal ``kernel/Image`` byte for byte)."""
        return self.rootfs / "boot" / "Image"

    @property
    def initrd_image(self) -> Path:
        """``bootloader/l4t_initrd.img`` (needed by the initrd flow)."""
        return self.bootloader / "l4t_initrd.img"

    @property
    def rootfs_initrd(self) -> Path:
        """``rootfs/boot/initrd``."""
        return self.rootfs / "boot" / "initrd"

    @property
    def nv_tegra_release(self) -> Path:
        """``rootfs/etc/nv_tegra_release`` (what the DUT reports after flashing)."""
        return self.rootfs / "etc" / "nv_tegra_release"

    @property
    def bsp_nv_tegra_release(self) -> Path:
        """``nv_tegra/nv_tegra_release`` (the BSP's own copy)."""
        return self.root / "nv_tegra" / "nv_tegra_release"

    @property
    def boardctl(self) -> Path:
        """``tools/board_automation/boardctl``."""
        return self.root / BOARDCTL_RELPATH

    @property
    def nvautoflash(self) -> Path:
        """``nvautoflash.sh``."""
        return self.root / "nvautoflash.sh"

    @property
    def flash_sh(self) -> Path:
        """``flash.sh``."""
        return self.root / "flash.sh"

    @property
    def initrd_flash(self) -> Path:
        """The initrd flash tool that exists (facts.md §9 row 16).

        The top-level ``l4t_initrd_flash.sh`` (R39.2 only) when it resolves to a file, else
        ``tools/kernel_flash/l4t_initrd_flash.sh``.
        """
        top = self.root / INITRD_FLASH_TOP
        return top if top.is_file() else self.root / INITRD_FLASH_TOOLS

    @property
    def create_default_user(self) -> Path:
        """``tools/l4t_create_default_user.sh``."""
        return self.root / "tools" / "l4t_create_default_user.sh"

    @property
    def apply_binaries(self) -> Path:
        """``apply_binaries.sh``."""
        return self.root / "apply_binaries.sh"

    def release(self) -> L4tRelease:
        """The release of the rootfs (``rootfs/etc/nv_tegra_release``, else ``nv_tegra/``)."""
        for path in (self.nv_tegra_release, self.bsp_nv_tegra_release):
            if path.is_file():
                try:
                    return parse_nv_tegra_release(path.read_text(errors="replace"))
                except ConfigError as exc:
                    raise ConfigError(exc.message, path=str(path)) from None
        raise ConfigError(
            f"no nv_tegra_release in {self.root} (looked for rootfs/etc/nv_tegra_release "
            "and nv_tegra/nv_tegra_release)"
        )


def _as_lft(lft: Lft | Path | str) -> Lft:
    return lft if isinstance(lft, Lft) else Lft(Path(lft))


# --------------------------------------------------------------------------- conf chain

_SOURCE_RE = re.compile(
    r"""^\s*(?:source|\.)\s+(?P<q>["']?)(?P<path>[^"';\s]+)(?P=q)\s*;?\s*(?:#.*)?$"""
)
_ASSIGN_RE = re.compile(
    r"^\s*(?P<kw>export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>\+?=)(?P<rest>.*)$"
)
_FUNC_RE = re.compile(
    r"^\s*(?:function\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_:-]*)\s*\(\s*\)\s*(?P<brace>\{)?"
)
_FUNC_KW_RE = re.compile(r"^\s*function\s+(?P<name>[A-Za-z_][A-Za-z0-9_:-]*)\s*(?P<brace>\{)?\s*$")


def _expand_source(raw: str, lft: Lft, includer: Path) -> Path:
    expanded = raw.replace("${LDK_DIR}", str(lft.root)).replace("$LDK_DIR", str(lft.root))
    if "$" in expanded:
        raise ConfigError(
            f"cannot follow 'source {raw}': only ${{LDK_DIR}} is expanded", path=str(includer)
        )
    path = Path(expanded)
    return path if path.is_absolute() else lft.root / path


def resolve_conf(lft: Lft | Path | str, conf_name: str) -> Path:
    """The real file behind top-level conf ``conf_name`` (symlinks followed)."""
    tree = _as_lft(lft)
    path = tree.conf(conf_name)
    if not path.exists():
        if path.is_symlink():
            raise ConfigError(
                f"conf {path.name} is a symlink to {path.readlink()}, which does not exist",
                path=str(path),
            )
        raise ConfigError(f"conf {path.name} not found in {tree.root}", path=str(path))
    return path.resolve()


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    return re.sub(r"(^|\s)#.*$", "", line)


@dataclass(frozen=True)
class Assignment:
    """One variable assignment found in a conf file."""

    file: Path
    line: int
    """1-based line number."""
    name: str
    op: str
    """``=`` or ``+=``."""
    value: str
    """The right-hand side with quotes and a trailing ``;`` removed, variables unexpanded."""
    function: str | None
    """The hook function the assignment is inside, or None at top level."""
    text: str
    """The whole line as written."""


def _unquote(rest: str) -> str:
    rest = rest.strip()
    if rest.startswith('"'):
        out = []
        i = 1
        while i < len(rest) and rest[i] != '"':
            if rest[i] == "\\" and i + 1 < len(rest):
                i += 1
            out.append(rest[i])
            i += 1
        return "".join(out)
    if rest.startswith("'"):
        end = rest.find("'", 1)
        return rest[1:end] if end > 0 else rest[1:]
    return re.split(r"[;\s]", rest, maxsplit=1)[0]


@dataclass
class _Walk:
    chain: list[Path]
    assignments: list[Assignment]
    functions: list[tuple[str, Path]]
    """Function definitions in the order bash executes them."""


def _scan(lft: Lft, path: Path, seen: set[Path], walk: _Walk) -> None:
    if path in seen:
        raise ConfigError(f"conf chain sources {path.name} twice (a cycle)", path=str(path))
    seen.add(path)
    walk.chain.append(path)
    function: str | None = None
    depth = 0
    opened = False
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        code = _strip_comment(line)
        if not code.strip():
            continue
        if function is None:
            header = _FUNC_KW_RE.match(code) or _FUNC_RE.match(code)
            if header is not None and "=" not in code.split("(")[0]:
                function, depth, opened = header.group("name"), 0, False
                walk.functions.append((function, path))
        source = _SOURCE_RE.match(code)
        if source is not None and function is None:
            target = _expand_source(source.group("path"), lft, path)
            if not target.exists():
                raise ConfigError(
                    f"{path.name} line {number} sources {source.group('path')}, "
                    f"which does not exist ({target})",
                    path=str(path),
                    line=number,
                )
            _scan(lft, target.resolve(), seen, walk)
        assign = _ASSIGN_RE.match(code)
        if assign is not None and not (assign.group("kw") or "").startswith("local"):
            walk.assignments.append(
                Assignment(
                    file=path,
                    line=number,
                    name=assign.group("name"),
                    op=assign.group("op"),
                    value=_unquote(assign.group("rest")),
                    function=function,
                    text=line,
                )
            )
        if function is not None:
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code.replace("${", "")
            if opened and depth <= 0:
                function = None


def _walk(lft: Lft | Path | str, conf_name: str) -> _Walk:
    tree = _as_lft(lft)
    walk = _Walk([], [], [])
    _scan(tree, resolve_conf(tree, conf_name), set(), walk)
    return walk


def conf_chain(lft: Lft | Path | str, conf_name: str) -> list[Path]:
    """The static ``source`` chain of ``conf_name``: the real conf first, then what it sources.

    Symlinks are followed (the devkit conf resolves to the real conf), ``${LDK_DIR}`` and
    ``$LDK_DIR`` expand to the LFT. A missing conf or sourced file is a :class:`ConfigError`
    naming it.
    """
    return _walk(lft, conf_name).chain


def variable_assignments(lft: Lft | Path | str, conf_name: str) -> dict[str, list[Assignment]]:
    """Every assignment over the conf chain, per variable, in the order bash meets them.

    Assignments inside hook functions carry the function name; they run later, at flash
    time (see :func:`evaluate_conf`). ``local`` declarations are left out.
    """
    result: dict[str, list[Assignment]] = {}
    for item in _walk(lft, conf_name).assignments:
        result.setdefault(item.name, []).append(item)
    return result


def hook_functions(lft: Lft | Path | str, conf_name: str) -> dict[str, Path]:
    """Functions defined over the chain: name → file of the definition bash keeps (the last
    one executed, so a conf that redefines a hook after its ``source`` line wins)."""
    return dict(_walk(lft, conf_name).functions)


def static_value(lft: Lft | Path | str, conf_name: str, name: str) -> str | None:
    """The value of ``name`` from its last top-level plain assignment (no hooks, no ``+=``)."""
    items = [a for a in variable_assignments(lft, conf_name).get(name, []) if a.function is None]
    plain = [a for a in items if a.op == "="]
    return plain[-1].value if plain else None


_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def static_values(lft: Lft | Path | str, conf_name: str) -> dict[str, str]:
    """The top-level values of the chain without running bash or hooks.

    Assignments apply in the order bash meets them: ``=`` sets, ``+=`` appends, and
    ``${VAR}``/``$VAR`` references to values known so far are expanded (unknown ones become
    empty, as in bash). Hook reassignments are not applied: use :func:`evaluate_conf` for
    the flash-time values.
    """
    values: dict[str, str] = {}
    for item in _walk(lft, conf_name).assignments:
        if item.function is not None:
            continue
        value = item.value
        if f"{item.name}{item.op}'" not in item.text:
            value = _REF_RE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), value)
        values[item.name] = values.get(item.name, "") + value if item.op == "+=" else value
    return values


# --------------------------------------------------------------------------- evaluation

_DISPATCH_SCRIPT = r"""
# Source an L4T board conf and run its dispatch hooks the way flash.sh does.
# Arguments: LDK_DIR BOARD RESULT_FILE RUN_HOOKS BOARD_ID FAB SKU REV CHIP_SKU FUSELEVEL
#            ROOTDEV VAR...
# Writes "NAME\0VALUE\0" for every VAR that is set to RESULT_FILE.
LDK_DIR="${1}"; ext_target_board="${2}"; __jetson_result="${3}"; __jetson_hooks="${4}";
board_id="${5}"; board_version="${6}"; board_FAB="${6}"; board_sku="${7}";
board_revision="${8}"; chip_SKU="${9}"; fuselevel="${10}"; __jetson_rootdev="${11}";
shift 11;
export LDK_DIR;
BL_DIR="${LDK_DIR}/bootloader";
TARGET_DIR="${BL_DIR}";
KERNEL_DIR="${LDK_DIR}/kernel";
chiprev="";
chip_minor_revision_ID="";
bootrom_revision_ID="";
ramcode_ID="";
hwchipid="";
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
		process_board_version "${board_id}" "${board_version}" "${board_sku}" \
			"${board_revision}" "${chiprev}";
	fi;
	if declare -F process_chip_sku_version > /dev/null 2>&1; then
		process_chip_sku_version "${chip_SKU}" "${chip_minor_revision_ID}" \
			"${bootrom_revision_ID}" "${ramcode_ID}" "${fuselevel}" "${board_FAB}";
	fi;
	if declare -F update_flash_args > /dev/null 2>&1; then
		update_flash_args;
	fi;
	if declare -F update_emmc_cfg_for_bup > /dev/null 2>&1; then
		update_emmc_cfg_for_bup;
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
    FUSELEVEL ROOTDEV VAR...``; ``BOARD`` is the conf name without ``.conf``; ``ROOTDEV`` may
    be empty. Each set ``VAR`` is appended to ``RESULT_FILE`` as ``NAME\\0VALUE\\0``. The
    conf's own output (errors such as ``Error: Unrecognized module SKU``) goes to
    stdout/stderr and a failing hook's exit status is bash's.
    """
    return _DISPATCH_SCRIPT


@dataclass(frozen=True)
class DispatchInputs:
    """What flash.sh reads from the EEPROM and chip info before the hooks run."""

    board_id: str
    board_sku: str
    fab: str
    chip_sku: str
    """Full form, ``00:00:00:D0``."""
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
) -> list[str]:
    """The argv that runs :func:`dispatch_script` (no hooks when ``inputs`` is None)."""
    tree = _as_lft(lft)
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
    variables: Sequence[str],
    hooks: bool = True,
    timeout: float = DEFAULT_DEADLINE,
) -> dict[str, str]:
    """The flash-time values of ``variables`` for a board with these EEPROM/chip values.

    Sources the conf as flash.sh does and (with ``hooks``) runs its dispatch hooks; returns
    the variables that are set (an unset one, such as ``GPIO_CONFIG``, is absent). Raises
    :class:`ConfDispatchError` when bash exits non-zero (``Error: Unrecognized module SKU``),
    :class:`~pytest_jetson.errors.DeadlineExceeded` after ``timeout`` seconds.
    """
    tree = _as_lft(lft)
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
