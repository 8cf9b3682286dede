"""The in-tree board automation tool: ``<LFT>/tools/board_automation/boardctl``.

Only the boardctl shipped in the image's Linux_for_Tegra tree is used, never one on ``$PATH``
(workflow.md, "Put the DUT into recovery"). Its target must be one that ``boardctl -h`` lists; the
list differs per release and R38+ prints a version banner and stderr noise (R36.2 lists ``topo``,
``orin-slt``, ``concord``; R38.4 ``topo``, ``thor-jetson-module``...), which :func:`parse_targets`
skips.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.command import Command
from pytest_jetson.host.runner import RunResult

if TYPE_CHECKING:
    from pytest_jetson.drivers.side import BenchSide

BOARDCTL_RELPATH = Path("tools/board_automation/boardctl")
"""Where boardctl sits inside a Linux_for_Tegra tree."""

VERBS: tuple[str, ...] = ("recovery", "reset", "power_on", "power_off", "status")
"""The boardctl commands pytest-jetson uses."""

_NOISE = re.compile(
    r"^(BOARDCTL: version\b|External distribution detected\.|NOTE: Using --serial=)"
)
_TARGET_LIST = re.compile(r"(?:Target\s+board|Use one of following:)\s*\[([^\]]*)\]")


class _HasBoardctl(Protocol):
    @property
    def boardctl(self) -> Path: ...


def boardctl_path(lft: Path | str | _HasBoardctl) -> Path:
    """The in-tree boardctl of a Linux_for_Tegra tree (a path or an ``Lft``)."""
    if isinstance(lft, (str, Path)):
        return Path(lft) / BOARDCTL_RELPATH
    return Path(lft.boardctl)


def parse_targets(help_text: str) -> tuple[str, ...]:
    """The targets a ``boardctl -h`` output lists, in its order (empty when none is found).

    optparse wraps the ``Target board [a | b | c]`` help over several lines, and textwrap may
    break a hyphenated name at its hyphen; R38+ adds a ``BOARDCTL: version`` banner and prints
    ``External distribution detected.`` on stderr. The bad-target error's
    ``Use one of following: [...]`` list is understood too.
    """
    joined = ""
    for raw in help_text.splitlines():
        line = raw.strip()
        if not line or _NOISE.match(line):
            continue
        joined += line if joined.endswith("-") else f" {line}"
    match = _TARGET_LIST.search(joined)
    if match is None:
        return ()
    return tuple(name.strip() for name in match.group(1).split("|") if name.strip())


class Boardctl:
    """Drive one DUT's board automation through the in-tree boardctl, with deadlines.

    ``side`` is the DUT's bench side: boardctl runs through it, in its Linux_for_Tegra;
    ``target`` the bench's ``-t`` target; ``timeout`` bounds each verb, ``help_timeout`` the
    ``-h`` call; a killed boardctl gets ``grace`` seconds between SIGTERM and SIGKILL.
    ``serial`` (``-s``, the TOPO's USB serial) or else ``index`` (``-i``) picks one of several
    debuggers: without them R36.2 drives the first TOPO it finds and R38+ refuses "Multiple (N)
    debuggers detected!". ``sudo`` runs it privileged (as root).
    Each verb raises :class:`ConfigError` when the target is not listed by ``-h``,
    :class:`pytest_jetson.errors.DeadlineExceeded` when boardctl hangs (its process group is
    killed) and :class:`BenchError` carrying the output when boardctl exits non-zero.
    """

    def __init__(
        self,
        side: BenchSide,
        target: str,
        *,
        timeout: float = 120.0,
        help_timeout: float = 30.0,
        grace: float = 5.0,
        serial: str | None = None,
        index: int | None = None,
        sudo: bool = False,
        log: Path | None = None,
        on_line: Callable[[str], None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.side = side
        self.path = boardctl_path(side.lft)
        self.target = target
        self.timeout = timeout
        self.help_timeout = help_timeout
        self.grace = grace
        self.serial = serial
        self.index = index
        self.sudo = sudo
        self.log = log
        self.on_line = on_line
        self.env = env
        self._targets: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return f"Boardctl({str(self.path)!r}, target={self.target!r})"

    @property
    def lft_root(self) -> Path:
        """The Linux_for_Tegra directory boardctl runs in."""
        return self.path.parents[len(BOARDCTL_RELPATH.parts) - 1]

    def command(self, verb: str) -> list[str]:
        """The argv for ``verb`` (what the plan shows as the RCM entry or post-flash reset)."""
        argv = [str(self.path), "-t", self.target]
        if self.serial is not None:
            argv += ["-s", self.serial]
        elif self.index is not None:
            argv += ["-i", str(self.index)]
        return [*argv, verb]

    def targets(self) -> tuple[str, ...]:
        """The targets ``boardctl -h`` lists (read once, then cached)."""
        if self._targets is None:
            result = self._run(["-h"], what="boardctl -h", timeout=self.help_timeout)
            found = parse_targets(result.output)
            if not found:
                raise BenchError(
                    f"could not read the target list from {self.path} -h"
                    f"{self._log_hint()}:\n{result.tail()}",
                    output=result.output,
                )
            self._targets = found
        return self._targets

    def check_target(self) -> None:
        """Refuse a target that ``boardctl -h`` does not list (ConfigError naming the list)."""
        listed = self.targets()
        if self.target not in listed:
            raise ConfigError(
                f"boardctl target {self.target!r} is not one that {self.path} -h lists "
                f"({', '.join(listed)}); set boardctl_target to one of them",
                key="boardctl_target",
            )

    def recovery(self) -> RunResult:
        """Put the DUT into forced recovery (RCM)."""
        return self.run("recovery")

    def reset(self) -> RunResult:
        """Reset the DUT (the post-flash reset on T264)."""
        return self.run("reset")

    def power_on(self) -> RunResult:
        """Power the DUT on."""
        return self.run("power_on")

    def power_off(self) -> RunResult:
        """Power the DUT off."""
        return self.run("power_off")

    def status(self) -> RunResult:
        """Query the board automation status (GPIO levels; R39.2 also the RCM state)."""
        return self.run("status")

    def run(self, verb: str) -> RunResult:
        """Run ``boardctl -t <target> <verb>`` with the deadline; raise on any failure."""
        if verb not in VERBS:
            raise ValueError(f"unknown boardctl verb {verb!r} (known: {', '.join(VERBS)})")
        self.check_target()
        what = f"boardctl -t {self.target} {verb}"
        result = self._run(self.command(verb)[1:], what=what, timeout=self.timeout)
        if not result.ok:
            raise BenchError(
                f"{what} failed with exit {result.returncode}{self._log_hint()}:\n{result.tail()}",
                output=result.output,
            )
        return result

    def invocation(self, args: list[str], *, what: str, timeout: float) -> Command:
        """The :class:`Command` running boardctl with ``args`` (one privilege rule: ``sudo``)."""
        return Command(
            [str(self.path), *args],
            cwd=self.lft_root,
            what=what,
            timeout=timeout,
            env=self.env,
            sudo=self.sudo,
            log=self.log,
            on_line=self.on_line,
            grace=self.grace,
        )

    def _run(self, args: list[str], *, what: str, timeout: float) -> RunResult:
        if not (self.side.view / BOARDCTL_RELPATH).is_file():
            raise ConfigError(
                f"boardctl not found at {self.path}; the image's Linux_for_Tegra tree must "
                "ship tools/board_automation/boardctl (or use recovery: manual)"
            )
        return self.side.transport.run(self.invocation(args, what=what, timeout=timeout))

    def _log_hint(self) -> str:
        return f" (log: {self.log})" if self.log is not None else ""
