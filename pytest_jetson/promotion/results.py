"""A run's results, as ``results.json`` next to ``summary.json`` in the DUT's artifacts folder.

Every test and step of the DUT (id, outcome, failure class, duration) and every boot cycle,
plus what names the image: release, plan digest, image digest (when the flash recorded one)
and the UEFI firmware version the cycles saw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pytest_jetson.cycles.record import CycleRecord
from pytest_jetson.errors import ConfigError

RESULTS_FILE = "results.json"
SUMMARY_FILE = "summary.json"
FORMAT = 1


class TestResult(NamedTuple):
    """One test or step of a run: its outcome(s), failure class and duration.

    A named tuple, not a dataclass: a run has thousands, and the gate reads two runs in a
    few times the time of parsing their JSON.
    """

    id: str
    outcome: str
    """``passed``, ``failed`` or ``skipped`` (the last attempt's)."""
    failure_class: str = ""
    """``product`` or ``infra`` for a failure, else empty."""
    duration_s: float = 0.0
    attempts: tuple[str, ...] = ()
    """Every attempt's outcome when the test ran more than once in the run (reruns)."""

    @property
    def outcomes(self) -> frozenset[str]:
        """Every outcome the test had in this run."""
        return frozenset(self.attempts or (self.outcome,))

    @property
    def mixed(self) -> bool:
        """Whether its attempts in this run had different outcomes."""
        return len(self.attempts) > 1 and len(set(self.attempts)) > 1

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        data: dict[str, Any] = {
            "id": self.id,
            "outcome": self.outcome,
            "failure_class": self.failure_class,
            "duration_s": round(self.duration_s, 3),
        }
        if self.attempts:
            data["attempts"] = list(self.attempts)
        return data


@dataclass(frozen=True)
class Image:
    """What names the image a run booted."""

    release: str = ""
    plan_digest: str = ""
    image_digest: str = ""
    firmware_version: str = ""

    def label(self) -> str:
        """``R36.4.3 (plan 1a2b…, image 3c4d…)`` with what is known."""
        parts = [
            f"plan {self.plan_digest}" if self.plan_digest else "",
            f"image {self.image_digest}" if self.image_digest else "",
            f"UEFI {self.firmware_version}" if self.firmware_version else "",
        ]
        extra = ", ".join(p for p in parts if p)
        name = self.release or "(release unknown)"
        return f"{name} ({extra})" if extra else name

    def key(self) -> tuple[str, str]:
        """What must be equal for two runs to have booted the same image: the image digest
        when both have one, else release and plan digest."""
        return (self.image_digest,) * 2 if self.image_digest else (self.release, self.plan_digest)


@dataclass(frozen=True)
class RunResults:
    """One DUT's results in one run."""

    dut: str
    profile: str = ""
    target: str = ""
    image: Image = field(default_factory=Image)
    results: tuple[TestResult, ...] = ()
    cycles: tuple[CycleRecord, ...] = ()
    source: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form of ``results.json``."""
        return {
            "format": FORMAT,
            "dut": self.dut,
            "profile": self.profile,
            "target": self.target,
            "release": self.image.release,
            "plan_digest": self.image.plan_digest,
            "image_digest": self.image.image_digest,
            "firmware_version": self.image.firmware_version,
            "results": [r.to_json() for r in self.results],
            "cycles": [c.to_json() for c in self.cycles],
        }

    def write(self, folder: Path) -> Path:
        """Write ``results.json`` into ``folder`` (atomically)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / RESULTS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n")
        tmp.replace(path)
        return path


def identity(summary: Mapping[str, Any], cycles: Sequence[CycleRecord]) -> tuple[str, str, Image]:
    """Profile, target and image of a run from its ``summary.json`` and its cycles."""
    plan = summary.get("plan") or {}
    versions = [c.firmware_version for c in cycles if c.firmware_version]
    release = str(plan.get("version", "")) or _release_of_uefi(versions[-1] if versions else "")
    image = Image(
        release=release,
        plan_digest=str(summary.get("plan_digest", "")),
        image_digest=str(summary.get("image_digest") or plan.get("image_digest") or ""),
        firmware_version=versions[-1] if versions else "",
    )
    profile = str(summary.get("profile") or plan.get("profile") or "")
    return Path(profile).stem if profile else "", str(summary.get("target", "")), image


def _release_of_uefi(version: str) -> str:
    """``36.4.4-gcid-41062509`` → ``R36.4.4``: Jetson's UEFI carries the L4T release and GCID
    of ``nv_tegra_release``, so a run without a flash plan still names what it booted."""
    number = version.split("-", 1)[0]
    return f"R{number}" if number.count(".") == 2 else ""


def load_run(folder: Path) -> RunResults:
    """Read the ``results.json`` of one DUT's artifacts folder; a clear ConfigError naming
    the file and what is wrong when it is missing or malformed."""
    path = folder / RESULTS_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (was the run made with --dut?)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from None
    try:
        return _parse(data, path)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{path}: malformed results ({type(exc).__name__}: {exc})") from None


def _parse(data: dict[str, Any], path: Path) -> RunResults:
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    raw: list[dict[str, Any]] = data["results"]
    # Column by column: a run has thousands of results, and the gate must stay within a few
    # times the cost of parsing the JSON.
    ids = [r["id"] for r in raw]
    outcomes = [r["outcome"] for r in raw]
    classes = [r.get("failure_class", "") for r in raw]
    durations = [r.get("duration_s", 0.0) for r in raw]
    attempts = [tuple(r["attempts"]) if "attempts" in r else () for r in raw]
    if not {*map(type, ids), *map(type, outcomes), *map(type, classes)} <= {str} or not {
        *map(type, durations)
    } <= {int, float}:
        bad = next(r for r in raw if not _well_typed(r))
        raise ValueError(
            f"result {bad.get('id')!r}: id, outcome and failure_class must be text, "
            "duration_s a number"
        )
    rows = zip(ids, outcomes, classes, durations, attempts, strict=True)
    results = tuple(map(TestResult._make, rows))
    return RunResults(
        dut=str(data["dut"]),
        profile=str(data.get("profile", "")),
        target=str(data.get("target", "")),
        image=Image(
            release=str(data.get("release", "")),
            plan_digest=str(data.get("plan_digest", "")),
            image_digest=str(data.get("image_digest", "")),
            firmware_version=str(data.get("firmware_version", "")),
        ),
        results=results,
        cycles=tuple(CycleRecord.from_json(c) for c in data.get("cycles", [])),
        source=path,
    )


def _well_typed(result: dict[str, Any]) -> bool:
    return (
        type(result["id"]) is str
        and type(result["outcome"]) is str
        and type(result.get("failure_class", "")) is str
        and type(result.get("duration_s", 0.0)) in (int, float)
    )


def load_folder(folder: Path) -> list[RunResults]:
    """Every DUT's results in an artifacts folder (``<folder>/<dut>/results.json``), or the
    folder itself when it is one DUT's folder."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    if (folder / RESULTS_FILE).is_file():
        return [load_run(folder)]
    runs = [load_run(p) for p in sorted(folder.iterdir()) if (p / RESULTS_FILE).is_file()]
    if not runs:
        raise ConfigError(f"{folder}: no {RESULTS_FILE} in it or in its DUT folders")
    return runs
