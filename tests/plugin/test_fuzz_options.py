"""Generated bad values for every ``--jetson-*`` option and ``jetson_*`` ini key: a usage error
(or a clean run), never a traceback, an INTERNALERROR or a flood of text.

Runs are in-process and stop at start-up (``--collect-only``: no bench is touched), so a few
examples per option stay fast.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

OK = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.USAGE_ERROR)

NASTY = [
    "",
    " ",
    "-",
    "=",
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e309",
    "9" * 400,
    "x" * 5000,
    "a\x00b",
    "\udcff",
    "~nouser-xyz/x",
    "/",
    "/dev/null",
    "/proc/self/mem",
    "loop",
    "loop/inside",
    "a-dir",
    "binary.yaml",
    "not-yaml.yaml",
    "../" * 60,
    "@",
    "@nothing",
    ",",
    "sim-orin,sim-orin",
    "flash=",
    "=5",
    "flash=inf",
    "flash=1e400",
    "step=1",
]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=24))

OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--dut": VALUES,
    "--jetson-bench": VALUES,
    "--jetson-profile": VALUES,
    "--jetson-artifacts": VALUES,
    "--jetson-deadline": st.one_of(VALUES, VALUES.map(lambda v: f"flash={v}")),
    "--jetson-lock-timeout": VALUES,
    "--jetson-teardown": VALUES,
    "--jetson-accept-plan": st.one_of(VALUES, VALUES.map(lambda v: f"sim-orin={v}")),
    "--jetson-flash": VALUES,
    "--jetson-sim-fault": VALUES,
    "--jetson-sim-speed": VALUES,
    "--jetson-sim-start": VALUES,
    "--jetson-sim-seed": VALUES,
    "--jetson-boot-cycles": VALUES,
    "--jetson-report": VALUES,
}
"""Every option that takes a value (the flags take none), with what to give it."""
INI_KEYS = ("jetson_bench", "jetson_lock_dir")

FEW = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _bad_files(folder: Path) -> None:
    """The files and folders NASTY names relative to the run's folder."""
    if not (folder / "a-dir").exists():
        (folder / "a-dir").mkdir()
        (folder / "binary.yaml").write_bytes(bytes(range(256)) * 4)
        (folder / "not-yaml.yaml").write_text("{" * 300 + "\n")
        (folder / "loop").symlink_to("loop")


def _check(result: pytest.RunResult, what: str) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert result.ret in OK, f"{what}: exit {result.ret}\n{text[-2000:]}"
    assert "Traceback" not in text and "INTERNALERROR" not in text, f"{what}:\n{text[-3000:]}"
    longest = max((len(line) for line in text.splitlines()), default=0)
    assert longest < 1200, f"{what}: a {longest}-character line"
    if result.ret == pytest.ExitCode.USAGE_ERROR:
        assert "error" in result.stderr.str().lower(), f"{what}: no error said\n{text[-2000:]}"


def test_every_option_that_takes_a_value_is_fuzzed(pytester: pytest.Pytester) -> None:
    """A new option must be added to OPTIONS (with what to give it) or this fails."""
    result = pytester.runpytest_inprocess("--help")
    shown = set(re.findall(r"(--(?:jetson-[a-z-]+|dut))[= ][A-Za-z\[{]", result.stdout.str()))
    assert shown == set(OPTIONS), shown ^ set(OPTIONS)
    ini = set(re.findall(r"^  (jetson_[a-z_]+) \(", result.stdout.str(), re.MULTILINE))
    assert ini == set(INI_KEYS), ini ^ set(INI_KEYS)


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_a_bad_option_value_is_a_usage_error_not_a_traceback(
    pytester: pytest.Pytester, option: str
) -> None:
    _bad_files(pytester.path)

    @FEW
    @given(OPTIONS[option])
    @example("x" * 5000)
    @example("loop")
    @example("binary.yaml")
    @example("a\x00b")
    def run(value: str) -> None:
        dut = [] if option == "--dut" else ["--dut=sim-orin"]
        args = [*dut, f"{option}={value}", "--collect-only", "-q", "-p", "no:cacheprovider"]
        _check(pytester.runpytest_inprocess(*args), f"{option}={value!r}")

    run()


@pytest.mark.parametrize("key", INI_KEYS)
def test_a_bad_ini_value_is_a_usage_error_not_a_traceback(
    pytester: pytest.Pytester, key: str
) -> None:
    _bad_files(pytester.path)
    pytester.makepyfile(test_dut="def test_dut(jetson_dut):\n    pass\n")
    bench = "lock_dir: locks\nduts:\n  a: {sim: {board: orin-agx}}\n"
    pytester.makefile(".yaml", **{"hil/bench": bench})

    @FEW
    @given(VALUES.filter(lambda v: "\x00" not in v and "\n" not in v and "\r" not in v))
    def run(value: str) -> None:
        pytester.makeini(f"[pytest]\n{key} = {value}\n")
        # The lock folder is used when the DUT is locked: run a test that locks one.
        result = pytester.runpytest_inprocess("--dut=a", "-q", "-p", "no:cacheprovider")
        text = result.stdout.str() + result.stderr.str()
        assert "Traceback" not in text and "INTERNALERROR" not in text, f"{key}={value!r}:\n{text}"
        assert result.ret in (*OK, pytest.ExitCode.TESTS_FAILED), f"{key}={value!r}:\n{text}"

    run()
