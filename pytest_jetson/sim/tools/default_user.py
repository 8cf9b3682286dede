"""``tools/l4t_create_default_user.sh``: stage the default user in ``rootfs`` (a passwd/
shadow entry and a home folder; ``--autologin`` and ``--accept-license`` as NVIDIA's script).

Like NVIDIA's, it prints the password it sets (the product redacts it). The rootfs gets a
salted hash in ``etc/shadow``, never the password.
"""

from __future__ import annotations

import secrets
import string
import sys
from pathlib import Path

from pytest_jetson.sim.state import hash_password
from pytest_jetson.sim.tools._env import ToolEnv, err, out

GROUPS = ("adm", "sudo", "audio", "video", "render", "weston-launch")
AUTOLOGIN_TTYS = ("ttyS0", "ttyTCU0", "ttyAMA0", "ttyAMA6")
AUTOLOGIN_TTYS_R38 = (*AUTOLOGIN_TTYS, "ttyS2", "ttyUTC0")
LICENSE_TITLE = "License For Customer Use of NVIDIA Software"
USAGE = """\
Usage:
l4t_create_default_user.sh [-u <username>] [-p <password>] [-a] [-n <hostname>] [-h]
	-u | --username	- If not specified then default will be set to 'nvidia'.
	-p | --password	- If not specified then default will be randomly generated.
	-a | --autologin	- If not specified then autologin will be disabled.
	-n | --hostname	- If not specified then default will be set to 'tegra-ubuntu'.
	-h | --help - print usage
	--accept-license - Specified to accept the terms and conditions of EULA"""


def _parse(argv: list[str]) -> dict[str, str | bool] | None:
    opts: dict[str, str | bool] = {}
    names = {"-u": "user", "--username": "user", "-p": "password", "--password": "password"}
    names |= {"-n": "hostname", "--hostname": "hostname"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in names:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            opts[names[a]] = argv[i + 1]
            i += 2
            continue
        if a in ("-a", "--autologin"):
            opts["autologin"] = True
        elif a == "--accept-license":
            opts["accept"] = True
        elif a in ("-h", "--help"):
            opts["help"] = True
        else:
            return None
        i += 1
    return opts


def _accept_license() -> bool:
    out(LICENSE_TITLE)
    out("Do you accept the terms of the license? [y/N]")
    answer = sys.stdin.readline() if not sys.stdin.closed else ""
    return answer.strip().lower() in ("y", "yes")


def main(env: ToolEnv, argv: list[str]) -> int:
    """Run l4t_create_default_user.sh with ``argv``; return its exit code."""
    opts = _parse(argv)
    if opts is None:
        err("ERROR: Invalid parameter. Exiting...")
        out(USAGE)
        return 1
    if opts.get("help"):
        out(USAGE)
        return 0
    rootfs = env.lft / "rootfs"
    if not rootfs.is_dir():
        err(f"ERROR: {rootfs} directory not found")
        return 1
    if not (rootfs / "etc" / "passwd").is_file():
        err("ERROR: not a valid rootfs directory")
        return 1
    if not opts.get("accept") and not _accept_license():
        err("ERROR: license not accepted. Exiting...")
        return 1
    user = str(opts.get("user", "nvidia"))
    alphabet = string.ascii_letters + string.digits
    password = str(opts.get("password") or "".join(secrets.choice(alphabet) for _ in range(8)))
    hostname = str(opts.get("hostname", "tegra-ubuntu"))
    autologin = bool(opts.get("autologin"))
    out(f"Creating: Username - {user}, Password - {password}, Autologin - {str(autologin).lower()}")
    out(f"Creating: Hostname - {hostname}")
    _stage(env, rootfs, user, hash_password(password), hostname, autologin)
    return 0


def _stage(
    env: ToolEnv, rootfs: Path, user: str, pw_hash: str, hostname: str, autologin: bool
) -> None:
    etc = rootfs / "etc"
    uid = _next_uid(etc / "passwd", user)
    _set_line(etc / "passwd", user, f"{user}:x:{uid}:{uid}:{user},,,:/home/{user}:/bin/bash")
    _set_line(etc / "shadow", user, f"{user}:{pw_hash}:19000:0:99999:7:::")
    _set_line(etc / "group", user, f"{user}:x:{uid}:")
    _add_to_groups(etc / "group", user)
    home = rootfs / "home" / user
    home.mkdir(parents=True, exist_ok=True)
    (home / ".bashrc").touch()
    (etc / "hostname").write_text(hostname + "\n")
    hosts = etc / "hosts"
    lines = [ln for ln in _lines(hosts) if not ln.startswith("127.0.1.1")]
    hosts.write_text("\n".join([*lines, f"127.0.1.1\t{hostname}"]) + "\n")
    (etc / "systemd" / "system" / "default.target").unlink(missing_ok=True)
    if env.release.major < 38:
        (etc / "nv").mkdir(parents=True, exist_ok=True)
        (etc / "nv" / "nvautoconfig").touch()
    if autologin:
        ttys = AUTOLOGIN_TTYS_R38 if env.release.major >= 38 else AUTOLOGIN_TTYS
        for tty in ttys:
            d = etc / "systemd" / "system" / f"serial-getty@{tty}.service.d"
            d.mkdir(parents=True, exist_ok=True)
            (d / "autologin.conf").write_text(
                "[Service]\nExecStart=\n"
                f"ExecStart=-/sbin/agetty --autologin {user} --keep-baud 115200 %I $TERM\n"
            )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []


def _set_line(path: Path, user: str, line: str) -> None:
    kept = [ln for ln in _lines(path) if ln.split(":", 1)[0] != user]
    path.write_text("\n".join([*kept, line]) + "\n")


def _next_uid(passwd: Path, user: str) -> int:
    used = set()
    for ln in _lines(passwd):
        parts = ln.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            if parts[0] == user:
                return int(parts[2])
            used.add(int(parts[2]))
    uid = 1000
    while uid in used:
        uid += 1
    return uid


def _add_to_groups(group: Path, user: str) -> None:
    lines = _lines(group)
    present = {ln.split(":", 1)[0] for ln in lines}
    lines += [f"{g}:x:{100 + n}:" for n, g in enumerate(GROUPS) if g not in present]
    result = []
    for ln in lines:
        parts = ln.split(":")
        if parts[0] in GROUPS and len(parts) == 4:
            members = [m for m in parts[3].split(",") if m]
            if user not in members:
                members.append(user)
            ln = ":".join([*parts[:3], ",".join(members)])
        result.append(ln)
    group.write_text("\n".join(result) + "\n")
