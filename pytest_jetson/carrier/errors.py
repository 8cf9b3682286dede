"""Errors of the derive-carrier library, in the package's one exception tree."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pytest_jetson.errors import ConfigError, JetsonError


class DeriveRefused(ConfigError):
    """A gate refused to start: the message says what is missing and what to do."""


class DeriveFailed(JetsonError):
    """The derivation stopped part-way.

    The files of the unit in progress were restored (index and work tree); commits made by
    earlier units stay. ``rows_done`` names the rows that were committed or already derived.
    """

    def __init__(self, message: str, *, rows_done: Sequence[str] = ()) -> None:
        self.message = message
        self.rows_done = tuple(rows_done)
        done = ", ".join(self.rows_done) if self.rows_done else "none"
        super().__init__(f"{message}\nrows done before the failure: {done}")


class VerificationMiss(DeriveFailed):
    """An edit did not land (the re-grep after it found nothing); nothing was committed."""


class CommitCancelled(JetsonError):
    """The commit preview gate cancelled a commit; the index is left staged."""

    def __init__(
        self, repo: Path, staged: Sequence[str], message: str, *, rows_done: Sequence[str] = ()
    ) -> None:
        self.repo = repo
        self.staged = tuple(staged)
        self.proposed_message = message
        self.rows_done = tuple(rows_done)
        files = "\n".join(f"  {path}" for path in self.staged)
        done = ", ".join(self.rows_done) if self.rows_done else "none"
        super().__init__(
            f"commit cancelled in {repo}; the index is left staged for manual resolution:\n"
            f"{files}\n"
            f"rows done before the cancel: {done}\n"
            "accept the commit (--accept-commits / --jetson-accept-commits, or answer 'a' on a "
            "terminal), or resolve the staged files by hand"
        )
