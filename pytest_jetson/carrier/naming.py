"""The rename rules of the fork plan, as pure functions over file names.

* Carrier-keyed names (Thor's BCT files, the board conf, Thor's fan conf) substitute the
  ``<carrier-id>-<carrier-sku>`` token with ``<custom-id>-<custom-sku>``; an ``xxxx`` wildcard in
  the carrier-SKU position is kept (``p4071-xxxx`` → ``acme1-xxxx``).
* Module-keyed names (every Orin BCT file, Orin's nvpmodel and fan confs) keep the module part
  verbatim and get a suffix: ``-<custom-id>-<custom-sku>`` (dash form) or
  ``_<token>_<custom-sku>`` (underscore form).
* The p-stripped token (``p1234`` → ``1234``) is used only for a family whose reference names are
  p-stripped (the BPMP DTBs) and only when the custom id matches ``^p[0-9]{4}$``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_jetson.catalogue import ChipFamily

_P_ID = re.compile(r"p([0-9]{4})")


def p_stripped(board_id: str) -> str | None:
    """``3737`` for ``p3737``; None when ``board_id`` is not of the form ``pNNNN``."""
    match = _P_ID.fullmatch(board_id)
    return match.group(1) if match else None


def _sub(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    """``pattern.sub`` with a literal replacement (no group references, no escapes)."""
    return pattern.sub(lambda _m: replacement, text)


def _token(text: str) -> str:
    return rf"(?<![A-Za-z0-9]){re.escape(text)}(?![A-Za-z0-9])"


@dataclass(frozen=True)
class CarrierNames:
    """The identifiers of one derivation and every name derived from them."""

    chip: ChipFamily
    module_id: str
    module_sku: str
    carrier_id: str
    carrier_sku: str
    custom_id: str
    custom_sku: str
    custom_flash_conf: str
    custom_name: str

    def file_token(self, *, p_stripped_family: bool) -> str:
        """``<custom-id-file-token>``: NNNN only for a p-stripped family and a ``pNNNN`` id."""
        if p_stripped_family:
            return p_stripped(self.custom_id) or self.custom_id
        return self.custom_id

    @property
    def custom_key(self) -> str:
        """``<custom-id>-<custom-sku>``."""
        return f"{self.custom_id}-{self.custom_sku}"

    @property
    def module_key(self) -> str:
        """``<module-id>-<module-sku>``."""
        return f"{self.module_id}-{self.module_sku}"

    @property
    def overlay_stem(self) -> str:
        """``tegra234-<custom-id>-<custom-sku>+<module-id>-<module-sku>``."""
        return f"{self.chip.prefix}-{self.custom_key}+{self.module_key}"

    @property
    def overlay_dtbo(self) -> str:
        """The overlay's built name, as ``OVERLAY_DTB_FILE`` lists it."""
        return f"{self.overlay_stem}.dtbo"

    @property
    def compatible(self) -> tuple[str, str]:
        """The overlay's ``compatible`` strings, most specific first."""
        return (f"nvidia,{self.custom_key}+{self.module_key}", f"nvidia,{self.chip.prefix}")

    @property
    def machine_key(self) -> str:
        """The composite nvpower.sh ``machine`` key ``<module>-<sku>-<custom>-<sku>``."""
        return f"{self.module_key}-{self.custom_key}"

    @property
    def shell_tag(self) -> str:
        """``<custom-id>_<custom-sku>`` reduced to characters a shell function name may hold."""
        return re.sub(r"[^A-Za-z0-9_]", "_", f"{self.custom_id}_{self.custom_sku}")

    # --- rename rules -------------------------------------------------------------------

    def carrier_substitute(self, name: str) -> str | None:
        """Substitute the carrier token in a dash-form name; None when it holds none.

        ``<carrier-id>-<carrier-sku>`` becomes ``<custom-id>-<custom-sku>``;
        ``<carrier-id>-xxxx`` becomes ``<custom-id>-xxxx``.
        """
        exact = re.compile(_token(f"{self.carrier_id}-{self.carrier_sku}"))
        wild = re.compile(_token(f"{self.carrier_id}-xxxx"))
        out = _sub(exact, self.custom_key, name)
        out = _sub(wild, f"{self.custom_id}-xxxx", out)
        return out if out != name else None

    def dash_suffix(self, name: str) -> str:
        """Module-keyed dash form: ``x-p3701-0000-a04.dtsi`` → ``x-…-a04-<custom>.dtsi``."""
        stem, dot, ext = name.rpartition(".")
        if not dot:
            return f"{name}-{self.custom_key}"
        return f"{stem}-{self.custom_key}.{ext}"

    def bct_fork(self, name: str) -> tuple[str, str]:
        """The fork name of a BCT file and the branch taken (``carrier-keyed``/``module-keyed``)."""
        substituted = self.carrier_substitute(name)
        if substituted is not None:
            return substituted, "carrier-keyed"
        return self.dash_suffix(name), "module-keyed"

    def conf_fork(self, real_conf: str) -> str:
        """The board flash-conf fork: carrier token substituted, else the custom flash conf."""
        return self.carrier_substitute(real_conf) or self.custom_flash_conf

    def underscore_suffix(self, name: str, *, p_stripped_family: bool) -> str:
        """Module-keyed underscore form: ``nvpmodel_p3701_0000.conf`` → ``…_<tok>_<sku>.conf``."""
        stem, dot, ext = name.rpartition(".")
        token = self.file_token(p_stripped_family=p_stripped_family)
        suffix = f"_{token}_{self.custom_sku}"
        return f"{stem}{suffix}.{ext}" if dot else f"{name}{suffix}"

    def underscore_carrier_substitute(self, name: str) -> str | None:
        """Carrier-keyed underscore form: ``…_p4071_0000.conf`` → ``…_<tok>_<sku>.conf``."""
        number = p_stripped(self.carrier_id)
        for ref_id, stripped in ((self.carrier_id, False), (number, True)):
            if ref_id is None:
                continue
            token = self.file_token(p_stripped_family=stripped)
            for sku, new_sku in ((self.carrier_sku, self.custom_sku), ("xxxx", "xxxx")):
                pattern = re.compile(rf"(?<=_){re.escape(ref_id)}_{re.escape(sku)}(?![A-Za-z0-9])")
                out = _sub(pattern, f"{token}_{new_sku}", name)
                if out != name:
                    return out
        return None

    def bpmp_fork(self, name: str) -> str | None:
        """BPMP DTB: ``-<carrier-num>-`` → ``-<token>-`` (SKU as the rename rule); None: miss."""
        number = p_stripped(self.carrier_id) or self.carrier_id
        token = self.file_token(p_stripped_family=True)
        for sku, new_sku in ((self.carrier_sku, self.custom_sku), ("xxxx", "xxxx")):
            pattern = re.compile(rf"-{re.escape(number)}-{re.escape(sku)}(?=[-.])")
            out = _sub(pattern, f"-{token}-{new_sku}", name)
            if out != name:
                return out
        pattern = re.compile(rf"-{re.escape(number)}(?=[-.])")
        out = _sub(pattern, f"-{token}", name)
        return out if out != name else None

    def is_board_keyed(self, name: str) -> bool:
        """Whether ``name`` carries the module or the carrier id (with or without the ``p``)."""
        ids = {self.module_id, self.carrier_id}
        ids |= {n for n in (p_stripped(self.module_id), p_stripped(self.carrier_id)) if n}
        return any(re.search(_token(i), name) for i in ids)
