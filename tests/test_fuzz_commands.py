"""Generated bad values for every argument of every ``python -m pytest_jetson`` command: an
exit status and a short message (argparse's usage error is exit 2), never a traceback."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_jetson.__main__ import build_parser, main
from tests.plugin.test_fuzz_options import NASTY

VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=24))
REQUIRED = {
    "--profile": "p.yaml",
    "--chip": "t234",
    "capture": "capture.log",
    "name": "a",
    "baseline": "a-dir",
    "candidate": "a-dir",
    "--dut": "a",
}
"""What a required argument gets while another one is fuzzed."""
FEW = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _arguments() -> list[tuple[str, str]]:
    """(command, argument) for every argument that takes a value."""
    found = []
    for command, parser in _subparsers().items():
        for action in parser._actions:
            if action.nargs == 0 or isinstance(action, argparse._HelpAction):
                continue
            name = action.option_strings[-1] if action.option_strings else action.dest
            found.append((command, name))
    return found


def _argv(parser: argparse.ArgumentParser, fuzzed: str, value: str) -> list[str]:
    argv: list[str] = []
    positionals: list[str] = []
    exclusive = (
        {a.option_strings[-1] for g in parser._mutually_exclusive_groups for a in g._group_actions}
        if fuzzed.startswith("--")
        else set()
    )
    for action in parser._actions:
        name = action.option_strings[-1] if action.option_strings else action.dest
        if isinstance(action, argparse._HelpAction) or action.nargs == 0:
            continue
        if name == fuzzed:
            given = value
        elif name in exclusive and fuzzed in exclusive:
            continue
        elif action.required or not action.option_strings:
            given = REQUIRED[name]
        else:
            continue
        if action.option_strings:
            argv.append(f"{name}={given}")
        else:
            positionals.append(given)
    for group in parser._mutually_exclusive_groups:
        names = [a.option_strings[-1] for a in group._group_actions]
        if group.required and not any(arg.split("=", 1)[0] in names for arg in argv):
            argv.append(f"{names[0]}={REQUIRED[names[0]]}")
    return [*argv, "--", *positionals] if positionals else argv


@pytest.mark.parametrize(("command", "argument"), _arguments())
def test_a_bad_argument_is_an_exit_status_and_a_short_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    argument: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "not-yaml.yaml").write_text("{" * 300 + "\n")
    (tmp_path / "capture.log").write_bytes(b"\x00\xff" * 100 + b"x" * 5000)
    (tmp_path / "loop").symlink_to("loop")
    parser = _subparsers()[command]

    @FEW
    @given(VALUES)
    @example("x" * 5000)
    @example("loop")
    @example("binary.yaml")
    @example("a\x00b")
    def run(value: str) -> None:
        argv = [command, *_argv(parser, argument, value)]
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse: a usage error
            status = exc.code if isinstance(exc.code, int) else 2
            assert status == 2, argv
        out, err = capsys.readouterr()
        text = out + err
        assert isinstance(status, int) and 0 <= status <= 3, (argv, status, text)
        assert "Traceback" not in text, (argv, text)
        longest = max((len(line) for line in text.splitlines()), default=0)
        assert longest < 1200, (argv[:2], longest, text[:300])
        if status == 2:
            assert "error" in err.lower(), (argv, text)

    run()
