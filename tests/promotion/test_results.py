"""``results.json``: written, read back, and a clear error when it is missing or malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_jetson.cycles.record import CycleRecord, StageTime
from pytest_jetson.errors import ConfigError
from pytest_jetson.promotion.results import Image, RunResults, identity, load_folder, load_run
from pytest_jetson.promotion.results import TestResult as Result


def test_results_round_trip(tmp_path: Path) -> None:
    run = RunResults(
        "orin-1",
        profile="orin",
        target="jetson-agx-orin-devkit",
        image=Image("R36.4.3", "plan", "image", "36.4.3-gcid-1"),
        results=(Result("t", "failed", "infra", 1.5, ("failed", "passed")),),
        cycles=(CycleRecord(1, "passed", stages=(StageTime("mb1", 0.1, 0.2, 0.19),)),),
    )
    run.write(tmp_path)
    back = load_run(tmp_path)
    assert back == RunResults(**{**run.__dict__, "source": tmp_path / "results.json"})
    assert load_folder(tmp_path) == [back]


def test_the_image_is_the_flash_image_digest_else_the_uefi_release() -> None:
    summary = {"plan": {"version": "R36.4.3", "profile": "profiles/orin.yaml"}, "plan_digest": "p"}
    profile, _, image = identity({**summary, "image_digest": "d1"}, ())
    assert (profile, image.release, image.image_digest) == ("orin", "R36.4.3", "d1")
    seen = CycleRecord(1, "passed", firmware_version="36.4.4-gcid-41062509")
    assert identity({}, (seen,))[2].release == "R36.4.4"


def test_a_malformed_results_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "orin-1").mkdir()
    (tmp_path / "orin-1" / "results.json").write_text(json.dumps({"format": 1, "dut": "x"}))
    with pytest.raises(ConfigError, match=r"orin-1/results.json: malformed results \(KeyError"):
        load_folder(tmp_path)
    with pytest.raises(ConfigError, match="no such folder"):
        load_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no results\.json in it"):
        load_folder(tmp_path / "empty")


def test_a_result_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    results = [
        {"id": "t1", "outcome": "passed"},
        {"id": "t2", "outcome": "passed", "duration_s": "1"},
    ]
    data = {"format": 1, "dut": "x", "results": results}
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"result 't2': .* duration_s a number"):
        load_folder(tmp_path)
