"""pytest glue of derive-carrier: the ``jetson_derived_carrier`` fixture, its options and the
default ``pytest_jetson_commit_preview`` implementation.

Registered as a plugin by :mod:`pytest_jetson.plugin.main`.
The library (:mod:`pytest_jetson.carrier`)
never imports pytest; here the commit gate becomes a call of the firstresult hook, so a bench's
``conftest.py`` can answer the preview instead of the default.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_jetson.carrier.decision import CommitDecision, CommitGate, ask_on_terminal

if TYPE_CHECKING:
    from pytest_jetson.carrier.record import DerivedCarrier
    from pytest_jetson.profile import Profile


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--jetson-accept-commits`` and ``--jetson-derive-bpmp`` to the ``jetson`` group."""
    group = parser.getgroup("jetson")
    group.addoption(
        "--jetson-accept-commits",
        dest="jetson_accept_commits",
        action="store_true",
        default=False,
        help="accept every derive-carrier commit preview (default: ask on a terminal, "
        "otherwise cancel and leave the index staged).",
    )
    group.addoption(
        "--jetson-derive-bpmp",
        dest="jetson_derive_bpmp",
        action="store_true",
        default=False,
        help="opt in to the BPMP DTB fork of derive-carrier (default: keep the reference DTB).",
    )


@pytest.hookimpl(trylast=True)
def pytest_jetson_commit_preview(
    config: pytest.Config, repo: Path, staged: Sequence[str], message: str
) -> CommitDecision:
    """Default: accept with ``--jetson-accept-commits``, ask on a terminal, else cancel."""
    if config.getoption("jetson_accept_commits", False):
        return CommitDecision.accept()
    capture = config.pluginmanager.getplugin("capturemanager")
    stdin = sys.__stdin__
    if stdin is None or not stdin.isatty():
        return CommitDecision.cancel()
    if capture is not None:
        with capture.global_and_fixture_disabled():
            return ask_on_terminal(repo, staged, message)
    return ask_on_terminal(repo, staged, message)


def _profile(request: pytest.FixtureRequest) -> Profile:
    from pytest_jetson.profile import find_profile, load_profile

    ref = request.config.getoption("jetson_profile", None)
    if not ref:
        profile: Profile = request.getfixturevalue("jetson_profile")
        if profile.custom_carrier is None:
            name = request.getfixturevalue("jetson_dut_name")
            pytest.skip(f"DUT {name}: its profile declares no custom_carrier, nothing to derive")
        return profile
    root = request.config.rootpath
    return load_profile(find_profile(ref, folders=[root / "profiles"], base=root))


def commit_gate(config: pytest.Config, node: Any = None) -> CommitGate:
    """The library's commit gate: a call of the preview hook, through ``node.ihook`` when a
    test asks (so a conftest beside the test can answer), else ``config.hook``."""
    hook: Any = node.ihook if node is not None else config.hook

    def gate(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
        answer = hook.pytest_jetson_commit_preview(
            config=config, repo=repo, staged=list(staged), message=message
        )
        if isinstance(answer, CommitDecision):
            return answer
        if answer is True:
            return CommitDecision.accept()
        if isinstance(answer, str) and answer.strip():
            return CommitDecision.edit(answer)
        return CommitDecision.cancel()

    return gate


@pytest.fixture(scope="session")
def jetson_derived_carrier(
    request: pytest.FixtureRequest, record_testsuite_property: Callable[[str, object], None]
) -> DerivedCarrier:
    """Derive the profile's custom carrier (once per session) and yield the record.

    Every commit preview goes through ``pytest_jetson_commit_preview``. The commit SHAs are
    recorded as JUnit testsuite properties (``jetson_carrier_<repo>_<n>``). A refusal, a cancel
    (the index stays staged; the error lists it) or a failure part-way fails the requesting
    test with the library's message.
    """
    from pytest_jetson.carrier import derive_carrier
    from pytest_jetson.errors import JetsonError

    config = request.config
    from pytest_jetson.plugin.session import inspect_only

    flag = inspect_only(config)
    if flag is not None:
        pytest.skip(f"{flag}: derive-carrier not run")
    try:
        profile = _profile(request)
        result = derive_carrier(
            profile,
            commit_gate(config, request.node),
            bpmp=bool(config.getoption("jetson_derive_bpmp", False)),
        )
    except JetsonError as exc:
        pytest.fail(f"derive-carrier: {exc}", pytrace=False)
    record = record_testsuite_property
    record("jetson_carrier", result.custom_key)
    for role in ("overlay-tracker", "hardware"):
        for index, sha in enumerate(result.shas(role)):
            record(f"jetson_carrier_{role.replace('-', '_')}_{index}", sha)
    _show(config, result.summary())
    return result


def _show(config: pytest.Config, text: str) -> None:
    """Write ``text`` on the terminal, also while the test's output is captured."""
    import contextlib

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        for line in text.splitlines():
            reporter.write_line(line)
