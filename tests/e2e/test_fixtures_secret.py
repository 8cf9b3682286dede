"""A custom default user's password (from the environment variable the bench names) is used to
stage the user, yet appears in no file the session wrote and nowhere in its output (issue 4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import SPEED

SECRET = "Qa-pw-7f3a9c1e-Zq"
BENCH = """
lock_dir: locks
duts:
  qa-orin:
    sim: {board: orin-agx}
    default_user: {username: qa, password_env: QA_SECRET_PW}
"""
# Scans the session's private folder and the lock folder (where the inventory's simulated host
# keeps its tree, rootfs, DUT state, console logs) before the plugin removes them. The canary
# proves the scan would see the secret if it were there.
SCANNER = """
import os
from pathlib import Path

from pytest_jetson.plugin.session import get_session


def pytest_sessionfinish(session):
    state = get_session(session.config)
    root = state.workdir
    secret = os.environ["QA_SECRET_PW"].encode()
    (root / "canary.bin").write_bytes(b"<" + secret + b">")
    files, hits = 0, []
    for folder in (root, state.lock_dir()):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files += 1
                if secret in path.read_bytes():
                    hits.append(str(path.relative_to(folder)))
    Path(str(session.config.rootpath), "scan.txt").write_text("\\n".join([str(files), *hits]))
"""


def _files_with(root: Path, secret: bytes) -> list[str]:
    return [
        str(p)
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and secret in p.read_bytes()
    ]


def test_the_password_is_in_no_file_and_no_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_SECRET_PW", SECRET)
    pytester.makefile(".yaml", **{"hil/bench": BENCH})
    pytester.makeconftest(SCANNER)
    pytester.makepyfile(
        test_hil="""
def test_logged_in_as_qa(jetson_shell):
    print("USER", jetson_shell.run("whoami").strip())
"""
    )
    artifacts = pytester.path / "artifacts"
    result = pytester.runpytest(
        "--dut=qa-orin",
        "--jetson-flash",
        SPEED,
        f"--jetson-artifacts={artifacts}",
        f"--junitxml={pytester.path / 'junit.xml'}",
        "-o",
        "junit_logging=all",
        "-rA",
        "--jetson-accept-plan",
        "test_hil.py",
    )
    result.assert_outcomes(passed=14, skipped=1)
    result.stdout.fnmatch_lines(["USER qa"])
    out = result.stdout.str() + result.stderr.str()
    assert SECRET not in out
    assert "  Default user: qa (autologin)" in out  # the plan names the user, not the password
    # the staging tool got the password, masked in its log
    log = (artifacts / "qa-orin" / "default_user.log").read_text()
    assert "-u qa -p '***' --autologin --accept-license" in log
    assert "Password - ***" in log
    count, *hits = (pytester.path / "scan.txt").read_text().splitlines()
    assert int(count) > 50  # the simulated tree, its rootfs and the DUT state were scanned
    assert hits == ["canary.bin"]
    assert (pytester.path / "junit.xml").read_text().count("USER qa") == 1
    assert _files_with(pytester.path, SECRET.encode()) == []  # artifacts, logs, JUnit, summary
    assert os.environ["QA_SECRET_PW"] == SECRET
