"""derive-carrier: fork a custom carrier from the reference devkit, commit by commit.

The library never imports pytest. :func:`derive_carrier` takes the profile and a commit gate
``(repo, staged, message) -> CommitDecision``; the pytest fixture and the command line supply
gates that call the ``pytest_jetson_commit_preview`` hook or ask on a terminal.

Names are imported on first use, so the plugin can import the small decision module at pytest
start-up without loading git, YAML and the fork machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_jetson.carrier.decision import CommitDecision as CommitDecision
    from pytest_jetson.carrier.decision import CommitGate as CommitGate
    from pytest_jetson.carrier.decision import accept_all as accept_all
    from pytest_jetson.carrier.decision import cancel_all as cancel_all
    from pytest_jetson.carrier.derive import derive_carrier as derive_carrier
    from pytest_jetson.carrier.errors import CommitCancelled as CommitCancelled
    from pytest_jetson.carrier.errors import DeriveFailed as DeriveFailed
    from pytest_jetson.carrier.errors import DeriveRefused as DeriveRefused
    from pytest_jetson.carrier.errors import VerificationMiss as VerificationMiss
    from pytest_jetson.carrier.record import CommitRecord as CommitRecord
    from pytest_jetson.carrier.record import DerivedCarrier as DerivedCarrier
    from pytest_jetson.carrier.record import RowResult as RowResult

_HOMES = {
    "CommitDecision": "decision",
    "CommitGate": "decision",
    "accept_all": "decision",
    "cancel_all": "decision",
    "derive_carrier": "derive",
    "CommitCancelled": "errors",
    "DeriveFailed": "errors",
    "DeriveRefused": "errors",
    "VerificationMiss": "errors",
    "CommitRecord": "record",
    "DerivedCarrier": "record",
    "RowResult": "record",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
