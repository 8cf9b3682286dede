"""derive-carrier: fork a custom carrier from the reference devkit, commit by commit.

The library never imports pytest. :func:`derive_carrier` takes the profile and a commit gate
``(repo, staged, message) -> CommitDecision``; the pytest fixture and the command line supply
gates that call the ``pytest_jetson_commit_preview`` hook or ask on a terminal.
"""

from pytest_jetson.carrier.decision import CommitDecision, CommitGate, accept_all, cancel_all
from pytest_jetson.carrier.derive import derive_carrier
from pytest_jetson.carrier.errors import (
    CommitCancelled,
    DeriveFailed,
    DeriveRefused,
    VerificationMiss,
)
from pytest_jetson.carrier.record import CommitRecord, DerivedCarrier, RowResult

__all__ = [
    "CommitCancelled",
    "CommitDecision",
    "CommitGate",
    "CommitRecord",
    "DeriveFailed",
    "DeriveRefused",
    "DerivedCarrier",
    "RowResult",
    "VerificationMiss",
    "accept_all",
    "cancel_all",
    "derive_carrier",
]
