"""nvpmodel and nvfancontrol forks.

Real names keep the ``p`` (``nvpmodel_p3701_0000.conf``); some SKUs have no file of their own and
use another SKU's, the way nvpower.sh's cascade maps them (p3767-0005 → ``_p3767_0003``,
p3701-0005 → ``_p3701_0000``). Orin fan confs are module-keyed; Thor's are carrier-keyed
(``nvfancontrol_p3834_0008_p4071_0000.conf``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pytest_jetson.carrier.naming import CarrierNames, p_stripped

NVPMODEL_DIR = "rootfs/etc/nvpmodel"
NVFANCONTROL_DIR = "rootfs/etc/nvpower/nvfancontrol"

# nvpower.sh's create_nvpmodel_symlink / create_nvfancontrol_symlink fallbacks.
_NVPMODEL_MAP = {("p3767", "0005"): "0003", ("p3767", "0002"): "0000"}
_NVPMODEL_DEFAULT = {"p3701": "0000"}
_FAN_MAP = {("p3701", "0002"): "0002"}
_FAN_DEFAULT = {"p3767": "0000", "p3701": "0000"}


@dataclass(frozen=True)
class RootfsFork:
    """One rootfs conf to fork."""

    rel_dir: str
    ref_name: str
    fork_name: str
    primary: bool
    """The file nvpower.sh's cascade should point at (not a ``_super`` variant)."""

    @property
    def ref_rel(self) -> str:
        """Reference path relative to the LFT."""
        return f"{self.rel_dir}/{self.ref_name}"

    @property
    def fork_rel(self) -> str:
        """Fork path relative to the LFT and the overlay tracker."""
        return f"{self.rel_dir}/{self.fork_name}"


def _listing(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_file())
    except FileNotFoundError:
        return []


def _module_tokens(module_id: str) -> list[tuple[str, bool]]:
    """``(token, p_stripped)`` spellings of a module id: with the ``p`` first."""
    tokens = [(module_id, False)]
    number = p_stripped(module_id)
    if number:
        tokens.append((number, True))
    return tokens


def _is_own_fork(name: str, names: CarrierNames) -> bool:
    return any(
        name.endswith(f"_{names.file_token(p_stripped_family=s)}_{names.custom_sku}.conf")
        for s in (False, True)
    )


def nvpmodel(lft: Path, names: CarrierNames) -> tuple[list[RootfsFork], list[str]]:
    """The nvpmodel forks for the reference module SKU and the notes of the search."""
    files = _listing(lft / NVPMODEL_DIR)
    notes: list[str] = []
    skus = [names.module_sku]
    mapped = _NVPMODEL_MAP.get((names.module_id, names.module_sku)) or _NVPMODEL_DEFAULT.get(
        names.module_id
    )
    if mapped and mapped != names.module_sku:
        skus.append(mapped)
    for sku in skus:
        for token, stripped in _module_tokens(names.module_id):
            pattern = re.compile(rf"nvpmodel_{re.escape(token)}_{re.escape(sku)}(_[^/]*)?\.conf")
            hits = [f for f in files if pattern.fullmatch(f) and not _is_own_fork(f, names)]
            if not hits:
                continue
            if sku != names.module_sku:
                notes.append(
                    f"no nvpmodel_{token}_{names.module_sku}*.conf; "
                    f"{names.module_key} uses the _{sku} file (nvpower.sh cascade)"
                )
            primary = f"nvpmodel_{token}_{sku}.conf"
            forks = [
                RootfsFork(
                    NVPMODEL_DIR,
                    f,
                    names.underscore_suffix(f, p_stripped_family=stripped),
                    f == primary,
                )
                for f in hits
            ]
            return forks, notes
    notes.append(
        f"no nvpmodel_{names.module_id}_{names.module_sku}*.conf (with or without the p) in "
        f"{NVPMODEL_DIR}/ on this BSP"
    )
    return [], notes


def nvfancontrol(lft: Path, names: CarrierNames) -> tuple[list[RootfsFork], list[str]]:
    """The nvfancontrol fork (carrier-keyed if the BSP has one, else module-keyed)."""
    files = [f for f in _listing(lft / NVFANCONTROL_DIR) if not _is_own_fork(f, names)]
    notes: list[str] = []
    carrier_tokens = [(names.carrier_id, False)]
    if p_stripped(names.carrier_id):
        carrier_tokens.append((p_stripped(names.carrier_id) or "", True))
    for mtoken, _ in _module_tokens(names.module_id):
        for ctoken, _ in carrier_tokens:
            for csku in (names.carrier_sku, "xxxx"):
                name = f"nvfancontrol_{mtoken}_{names.module_sku}_{ctoken}_{csku}.conf"
                if name in files:
                    fork = names.underscore_carrier_substitute(name)
                    if fork is not None:
                        return [RootfsFork(NVFANCONTROL_DIR, name, fork, True)], notes
    skus = [names.module_sku]
    mapped = _FAN_MAP.get((names.module_id, names.module_sku)) or _FAN_DEFAULT.get(names.module_id)
    if mapped and mapped != names.module_sku:
        skus.append(mapped)
    for sku in skus:
        for token, stripped in _module_tokens(names.module_id):
            name = f"nvfancontrol_{token}_{sku}.conf"
            if name in files:
                if sku != names.module_sku:
                    notes.append(
                        f"no nvfancontrol_{token}_{names.module_sku}.conf; {names.module_key} "
                        f"uses the _{sku} file (nvpower.sh cascade)"
                    )
                fork = names.underscore_suffix(name, p_stripped_family=stripped)
                return [RootfsFork(NVFANCONTROL_DIR, name, fork, True)], notes
    notes.append(
        f"no nvfancontrol conf for {names.module_key} (carrier- or module-keyed) in "
        f"{NVFANCONTROL_DIR}/ on this BSP"
    )
    return [], notes
