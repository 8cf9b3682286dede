"""The typed result of one boot cycle, and its JSON form (in ``summary.json`` and
``results.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pytest_jetson.console.boot import STAGE_NAMES

Outcome = Literal["passed", "failed", "skipped"]
FailureClass = Literal["", "product", "infra"]


@dataclass(frozen=True)
class StageTime:
    """One boot stage of one cycle.

    ``host_s`` is how long the stage lasted on this host's clock (from the line that showed it
    to the line that showed the next one); ``firmware_s`` the same span on the firmware's or
    kernel's own timer when the lines carry one; ``start_s`` when the stage was reached,
    counted from the reset edge. All None when the stage was not observed (the boot stopped
    before it ended).
    """

    name: str
    start_s: float | None = None
    host_s: float | None = None
    firmware_s: float | None = None

    @property
    def observed(self) -> bool:
        """Whether the stage was seen from start to end."""
        return self.host_s is not None

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "name": self.name,
            "start_s": self.start_s,
            "host_s": self.host_s,
            "firmware_s": self.firmware_s,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageTime:
        """Read what :meth:`to_json` wrote."""
        return cls(
            name=str(data["name"]),
            start_s=_float(data.get("start_s")),
            host_s=_float(data.get("host_s")),
            firmware_s=_float(data.get("firmware_s")),
        )


@dataclass(frozen=True)
class CycleRecord:
    """One boot cycle: how it went, each stage's timing, and the console log when it failed."""

    index: int
    outcome: Outcome
    failure_class: FailureClass = ""
    failed_stage: str = ""
    message: str = ""
    reboot: str = ""
    """How the cycle rebooted the board (``boardctl -t topo reset``, ``sudo reboot``)."""
    stages: tuple[StageTime, ...] = ()
    firmware_version: str = ""
    """The UEFI firmware's version as it printed it (names the image when no plan does)."""
    log: str = ""
    """The console log of the cycle with stage marks (kept for failed cycles only)."""

    def stage(self, name: str) -> StageTime:
        """The timing of stage ``name`` (unobserved when the cycle has none)."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        return StageTime(name)

    def to_json(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "index": self.index,
            "outcome": self.outcome,
            "failure_class": self.failure_class,
            "failed_stage": self.failed_stage,
            "message": self.message,
            "reboot": self.reboot,
            "stages": [s.to_json() for s in self.stages],
            "firmware_version": self.firmware_version,
            "log": self.log,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CycleRecord:
        """Read what :meth:`to_json` wrote (ValueError/KeyError/TypeError when malformed)."""
        outcome = str(data["outcome"])
        failure = str(data.get("failure_class", ""))
        if outcome not in ("passed", "failed", "skipped") or failure not in (
            "",
            "product",
            "infra",
        ):
            raise ValueError(f"cycle outcome {outcome!r} / failure class {failure!r}")
        return cls(
            index=int(data["index"]),
            outcome=outcome,  # type: ignore[arg-type]
            failure_class=failure,  # type: ignore[arg-type]
            failed_stage=str(data.get("failed_stage", "")),
            message=str(data.get("message", "")),
            reboot=str(data.get("reboot", "")),
            stages=tuple(StageTime.from_json(s) for s in data.get("stages", [])),
            firmware_version=str(data.get("firmware_version", "")),
            log=str(data.get("log", "")),
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


__all__ = ["STAGE_NAMES", "CycleRecord", "StageTime"]
