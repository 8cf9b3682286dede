"""A local *view* of a Linux_for_Tegra tree that lives on a bench host.

The pytest host resolves the flow (conf chain values, the flow tool, the release, the 5.1 image
check, the 5.4 "already staged" evidence) by reading a handful of small files of the tree. For a
remote bench those files are on the exporter's host, so :func:`fetch_view` runs one fixed POSIX
``sh`` script there (the tree is a positional argument, never spliced into the script) and
builds a skeleton under a local folder:

* the text files the host-side readers parse, with their content: the top-level ``*.conf*``
  files (symlinks kept as symlinks), ``rootfs/etc/nv_tegra_release``, ``passwd``,
  ``login.defs``;
* the names (as empty files) of the entries of the folders whose emptiness is checked or
  whose files the evaluated conf names (``kernel/dtb``, ``bootloader``, the BCT and layout
  folders, ``tools/kernel_flash``, ``rootfs``, ``rootfs/home``);
* empty marker files for the tools and initrd files whose presence matters;
* ``kernel/Image`` and ``rootfs/boot/Image`` as two equal or two different one-byte files, as
  ``cmp -s`` found them on the bench host;
* the dpkg evidence of ``apply_binaries.sh`` reduced to the one line that counts.

The unchanged local checks then run against the view; messages name the bench host and its
path (:meth:`TreeView.outward`). Large files never cross the link.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pytest_jetson.errors import BenchError
from pytest_jetson.host.command import Command
from pytest_jetson.host.transport import CommandTransport

VIEW_TIMEOUT = 60.0

# Lines: "C <b64 path> <b64 content>", "L <b64 path> <b64 target>", "E <b64 path>" (an empty
# file), "D <b64 path>" (a folder), "X <reason>" (no tree).
_SCRIPT = r"""
set -u
b() { printf %s "$1" | base64 | tr -d '\n'; }
c() { [ -f "$1" ] && printf 'C %s %s\n' "$(b "$1")" "$(base64 < "$1" | tr -d '\n')"; }
e() { [ -e "$1" ] && printf 'E %s\n' "$(b "$1")"; }
d() {
  [ -d "$1" ] || return 0
  printf 'D %s\n' "$(b "$1")"
  for entry in "$1"/* "$1"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    kind=E; [ -d "$entry" ] && kind=D
    printf '%s %s\n' "$kind" "$(b "$entry")"
  done
}
cd "$1" 2>/dev/null || { echo "X no such directory"; exit 0; }
echo "D $(b .)"
for f in *.conf*; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  if [ -L "$f" ]; then printf 'L %s %s\n' "$(b "$f")" "$(b "$(readlink "$f")")"; else c "$f"; fi
done
for f in kernel/dtb bootloader bootloader/generic/BCT bootloader/t186ref/BCT \
  bootloader/generic/cfg bootloader/t186ref/cfg tools/kernel_flash rootfs rootfs/home
do d "$f"; done
for f in rootfs/etc/nv_tegra_release rootfs/etc/passwd rootfs/etc/login.defs; do c "$f"; done
for f in rootfs/var/lib/dpkg/info/nvidia-l4t-core.list bootloader/l4t_initrd.img \
  rootfs/boot/initrd l4t_initrd_flash.sh tools/kernel_flash/l4t_initrd_flash.sh \
  tools/board_automation/boardctl nvautoflash.sh tools/l4t_create_default_user.sh \
  kernel/Image; do e "$f"; done
if grep -q -E '^Package: nvidia-l4t-(core|bsp)' rootfs/var/lib/dpkg/status 2>/dev/null; then
  printf 'C %s %s\n' "$(b rootfs/var/lib/dpkg/status)" "$(b 'Package: nvidia-l4t-core')"
elif [ -f rootfs/var/lib/dpkg/status ]; then
  e rootfs/var/lib/dpkg/status
fi
if [ -f kernel/Image ] && [ -f rootfs/boot/Image ]; then
  if cmp -s kernel/Image rootfs/boot/Image; then same=1; else same=0; fi
  printf 'C %s %s\n' "$(b kernel/Image)" "$(b 1)"
  printf 'C %s %s\n' "$(b rootfs/boot/Image)" "$(b "$same")"
fi
exit 0
"""


@dataclass(frozen=True)
class TreeView:
    """A local skeleton (``local``) of the tree ``remote`` on ``host``."""

    local: Path
    remote: PurePosixPath
    host: str

    @property
    def where(self) -> str:
        """``host:/path/to/Linux_for_Tegra`` for messages and reports."""
        return f"{self.host}:{self.remote}"

    def outward(self, text: str) -> str:
        """``text`` with the view's local path replaced by the bench host's tree."""
        return text.replace(str(self.local), self.where)


def fetch_view(
    transport: CommandTransport, lft: PurePosixPath | str, dest: Path, *, log: Path | None = None
) -> TreeView:
    """Build the view of the bench host's tree ``lft`` in ``dest`` (replacing what is there).

    A tree that does not exist gives an empty view (the 5.1 check then reports it missing);
    a failing command is a :class:`BenchError`.
    """
    remote = PurePosixPath(lft)
    host = transport.host or "localhost"
    result = transport.run(
        Command(
            ["sh", "-c", _SCRIPT, "jetson-view", str(remote)],
            cwd="/",
            timeout=VIEW_TIMEOUT,
            what=f"reading the Linux_for_Tegra tree {remote}",
            log=log,
        )
    )
    if not result.ok:
        raise BenchError(
            f"reading the tree {remote} on {host} failed with exit {result.returncode}:\n"
            f"{result.tail(10)}",
            output=result.output,
        )
    if dest.exists():
        shutil.rmtree(dest)
    root = dest / "Linux_for_Tegra"
    for line in result.lines:
        _apply(root, line.strip())
    return TreeView(local=root, remote=remote, host=host)


def _apply(root: Path, line: str) -> None:
    kind, _, rest = line.partition(" ")
    if kind not in ("C", "L", "E", "D"):
        return
    fields = rest.split(" ")
    rel = _decode(fields[0])
    if rel is None or rel.startswith("/") or ".." in PurePosixPath(rel).parts:
        return
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "D":
        target.mkdir(parents=True, exist_ok=True)
    elif kind == "E":
        if not target.exists():
            target.touch()
    elif kind == "C":
        target.write_bytes(base64.b64decode(fields[1]) if len(fields) > 1 else b"")
    elif kind == "L" and len(fields) > 1:
        link = _decode(fields[1])
        if link is not None and not target.exists() and not target.is_symlink():
            os.symlink(link, target)


def _decode(text: str) -> str | None:
    try:
        return base64.b64decode(text).decode("utf-8")
    except ValueError:
        return None
