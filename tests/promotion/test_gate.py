"""Pairing the DUTs of two runs, and what the gate prints and writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.errors import ConfigError, UsageError
from pytest_jetson.promotion.gate import pair_runs, run_gate
from pytest_jetson.promotion.results import Image, RunResults
from pytest_jetson.promotion.results import TestResult as Result


def test_pairing_by_profile_then_name_and_explicit_pairs() -> None:
    base = [RunResults("orin-1", profile="orin"), RunResults("thor-1", profile="thor")]
    cand = [RunResults("orin-9", profile="orin"), RunResults("thor-1", profile="other")]
    pairing = pair_runs(base, cand)
    assert [(b.dut, c.dut) for b, c in pairing.pairs] == [
        ("orin-1", "orin-9"),
        ("thor-1", "thor-1"),
    ]
    pairing = pair_runs(base, cand, ["orin-1=thor-1"])
    assert ("orin-1", "thor-1") in [(b.dut, c.dut) for b, c in pairing.pairs]
    assert pairing.unpaired == ("baseline:thor-1", "candidate:orin-9")
    with pytest.raises(UsageError, match="--pair 'nope=x'"):
        pair_runs(base, cand, ["nope=x"])


def _run(dut: str, image: str, kernel: float) -> RunResults:
    stages = (StageTime("kernel", 1.0, 2.0, kernel),)
    return RunResults(
        dut,
        profile="orin",
        image=Image(release="R36.4.3", plan_digest="p" + image, image_digest=image),
        results=(Result(f"test_x.py::t[{dut}]", "passed"),),
        cycles=tuple(CycleRecord(n, "passed", stages=stages) for n in range(1, 6)),
    )


def test_the_gate_names_different_images_at_the_top_and_writes_its_reports(
    tmp_path: Path,
) -> None:
    _run("orin-1", "aaaa", 1.0).write(tmp_path / "base" / "orin-1")
    _run("orin-2", "bbbb", 1.5).write(tmp_path / "cand" / "orin-2")
    lines: list[str] = []
    html, data = tmp_path / "out" / "r.html", tmp_path / "out" / "r.json"
    gate = run_gate(
        tmp_path / "base", tmp_path / "cand", html=html, json_path=data, echo=lines.append
    )
    assert gate.exit_code == 1
    base, cand = "R36.4.3 (plan paaaa, image aaaa)", "R36.4.3 (plan pbbbb, image bbbb)"
    assert lines[0] == f"orin-1: baseline {base} → candidate {cand}"
    assert lines[1] == "REJECT" and "stage kernel +0.500 s" in lines[2]
    assert (
        html.read_text().startswith("<!DOCTYPE html>") and '"verdict": "REJECT"' in data.read_text()
    )


def test_the_same_image_digest_is_not_named(tmp_path: Path) -> None:
    _run("orin-1", "aaaa", 1.0).write(tmp_path / "base" / "orin-1")
    _run("orin-2", "aaaa", 1.0).write(tmp_path / "cand" / "orin-2")
    lines: list[str] = []
    assert run_gate(tmp_path / "base", tmp_path / "cand", echo=lines.append).exit_code == 0
    assert lines[0] == "PROMOTE"


def test_a_report_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    _run("orin-1", "aaaa", 1.0).write(tmp_path / "base" / "orin-1")
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot write the report"):
        run_gate(
            tmp_path / "base", tmp_path / "base", html=tmp_path / "file" / "r.html", echo=print
        )
