"""The release of a Linux_for_Tegra tree: ``nv_tegra_release`` and profile version strings.

The first line of ``nv_tegra_release`` reads ``# R36 (release), REVISION: 4.3, GCID: ...,
BOARD: generic, EABI: aarch64, DATE: ...`` (R35 says ``BOARD: t186ref``); R36 and later add a
``# KERNEL_VARIANT: oot`` line. Profiles spell the same release ``R36.4.3``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_jetson.errors import ConfigError


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
