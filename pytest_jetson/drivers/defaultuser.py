"""Default-user staging (procedure step 5.4): keep a staged user, else apply the bench's choice.

A stock rootfs has an empty ``home/`` and only system users (``nobody`` is UID 65534, so only 1000
<= UID < 65534, or a non-empty ``home/*``, counts as a staged user). When no user is staged, the
bench's choice is applied with ``tools/l4t_create_default_user.sh -u <name> -p <password>
--autologin --accept-license``, or ``skip`` is recorded (the OEM wizard runs on first boot). The
tool prints the password; it is scrubbed from everything logged, returned or raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pytest_jetson.bench import DefaultUser
from pytest_jetson.errors import BenchError, ConfigError
from pytest_jetson.host.command import Command
from pytest_jetson.host.redact import Redactor

if TYPE_CHECKING:
    from pytest_jetson.drivers.side import BenchSide

CREATE_USER_RELPATH = Path("tools/l4t_create_default_user.sh")
"""Where NVIDIA's user-staging tool sits inside Linux_for_Tegra."""

_UID_MIN, _UID_CEILING = 1000, 65534
_PRINTED_PASSWORD = r"Password - (?P<secret>[^,\s]+)"

Resolution = Literal["kept", "staged", "skip"]


@dataclass(frozen=True)
class UserStaging:
    """What step 5.4 resolved, as the plan shows it (never the password)."""

    resolution: Resolution
    username: str | None
    evidence: str = ""
    """Why a user counts as staged (``etc/passwd: qa (1000)``, ``home/qa``)."""
    command: str = ""
    """The (scrubbed) command that staged the user."""
    log_path: Path | None = None

    @property
    def plan_value(self) -> str:
        """What the plan shows after ``Default user:``."""
        if self.resolution == "kept":
            return "already staged in rootfs (kept)"
        if self.resolution == "skip":
            return "none — OEM config wizard on first boot"
        return f"{self.username} (autologin)"

    @property
    def plan_line(self) -> str:
        """``Default user: ...`` as the plan prints it."""
        return f"Default user: {self.plan_value}"


def staged_user(rootfs: Path) -> str | None:
    """Evidence of a user already staged in ``rootfs``, or None.

    A user counts when ``home/`` has an entry, or ``etc/passwd`` has a UID in
    ``[UID_MIN, UID_MAX]`` of ``etc/login.defs`` (default 1000 ≤ uid < 65534).
    """
    home = rootfs / "home"
    if home.is_dir():
        entries = sorted(p.name for p in home.iterdir())
        if entries:
            return f"home/{entries[0]}"
    passwd = rootfs / "etc" / "passwd"
    if not passwd.is_file():
        return None
    low, high = _uid_range(rootfs / "etc" / "login.defs")
    for line in passwd.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit() and low <= int(fields[2]) <= high:
            return f"etc/passwd: {fields[0]} ({fields[2]})"
    return None


def credentials(choice: DefaultUser, env: Mapping[str, str]) -> tuple[str, str] | None:
    """``(username, password)`` for the bench's choice, None for ``skip``.

    A ``custom`` choice reads the password from the variable the bench names; a missing or
    empty variable is a :class:`ConfigError` naming the variable (never a value).
    """
    if choice.kind == "skip":
        return None
    if choice.kind in ("ubuntu", "nvidia"):
        return choice.kind, choice.kind
    if not choice.username or not choice.password_env:
        raise ConfigError(
            "default_user: a custom user needs username and password_env", key="default_user"
        )
    password = env.get(choice.password_env, "")
    if not password:
        raise ConfigError(
            f"default_user: the password environment variable {choice.password_env} "
            f"for user {choice.username!r} is not set (or empty)",
            key="default_user",
        )
    if "\n" in password:
        raise ConfigError(
            f"default_user: the password in {choice.password_env} spans several lines",
            key="default_user",
        )
    return choice.username, password


def stage_default_user(
    side: BenchSide,
    choice: DefaultUser | None,
    *,
    env: Mapping[str, str],
    timeout: float = 300.0,
    sudo: bool = True,
    log: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> UserStaging:
    """Apply step 5.4 to the side's image: keep a staged user, stage the choice, or skip.

    Raises :class:`ConfigError` for a custom choice without its password variable (or no
    choice while nothing is staged) and
    :class:`BenchError` (output scrubbed) when the staging tool fails. The evidence of a
    staged user is read in the side's view of the tree; the tool runs in the tree itself.
    """
    evidence = staged_user(side.view / "rootfs")
    if evidence is not None:
        return UserStaging("kept", None, evidence)
    if choice is None:
        raise ConfigError(
            "no user is staged in rootfs and the bench entry does not say default_user",
            key="default_user",
        )
    creds = credentials(choice, env)
    if creds is None:
        return UserStaging("skip", None)
    username, password = creds
    tool = side.view / CREATE_USER_RELPATH
    if not tool.is_file():
        raise BenchError(f"{tool} not found: the image is not a complete Linux_for_Tegra tree")
    redactor = Redactor(
        [password] if choice.kind == "custom" else [],
        patterns=[_PRINTED_PASSWORD],
        flags=["-p", "--password"],
    )
    result = side.transport.run(
        Command(
            [
                f"./{CREATE_USER_RELPATH}",
                "-u",
                username,
                "-p",
                password,
                "--autologin",
                "--accept-license",
            ],
            cwd=side.lft,
            timeout=timeout,
            what=f"staging the default user {username!r} (l4t_create_default_user.sh)",
            log=log,
            on_line=on_line,
            sudo=sudo,
            secrets=redactor,
        )
    )
    if not result.ok:
        where = f" (log: {log})" if log is not None else ""
        raise BenchError(
            f"l4t_create_default_user.sh failed with exit {result.returncode}{where}:\n"
            f"{result.tail(10)}",
            output=result.output,
        )
    side.tree_changed()
    return UserStaging("staged", username, command=result.command, log_path=log)


def _uid_range(login_defs: Path) -> tuple[int, int]:
    low, high = _UID_MIN, _UID_CEILING - 1
    if login_defs.is_file():
        text = login_defs.read_text(encoding="utf-8", errors="replace")
        for key, value in re.findall(r"^\s*(UID_MIN|UID_MAX)\s+(\d+)", text, re.MULTILINE):
            if key == "UID_MIN":
                low = int(value)
            else:
                high = min(int(value), _UID_CEILING - 1)
    return low, high
