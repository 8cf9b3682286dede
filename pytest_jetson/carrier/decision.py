"""The commit-message preview gate: a decision type and the gate callable's signature."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DecisionKind = Literal["accept", "edit", "cancel"]


@dataclass(frozen=True)
class CommitDecision:
    """What the operator (or a hook) answered to a commit preview.

    Build one with :meth:`accept`, :meth:`edit` or :meth:`cancel`.
    """

    kind: DecisionKind
    message: str | None = None
    """The replacement commit message (``edit`` only)."""

    def __post_init__(self) -> None:
        if self.kind not in ("accept", "edit", "cancel"):
            raise ValueError(f"unknown commit decision {self.kind!r}")
        if self.kind == "edit" and not (self.message and self.message.strip()):
            raise ValueError("an 'edit' commit decision needs a non-empty message")

    @classmethod
    def accept(cls) -> CommitDecision:
        """Commit with the proposed message."""
        return cls("accept")

    @classmethod
    def edit(cls, message: str) -> CommitDecision:
        """Commit with ``message`` instead of the proposed one."""
        return cls("edit", message)

    @classmethod
    def cancel(cls) -> CommitDecision:
        """Do not commit; leave the index staged."""
        return cls("cancel")


CommitGate = Callable[[Path, Sequence[str], str], CommitDecision]
"""``gate(repo, staged, message) -> CommitDecision``, called before every commit."""


def accept_all(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
    """A gate that accepts every commit (``--accept-commits``)."""
    return CommitDecision.accept()


def cancel_all(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
    """A gate that cancels every commit (no terminal, no acceptance)."""
    return CommitDecision.cancel()


def format_preview(repo: Path, staged: Sequence[str], message: str) -> str:
    """The preview text shown to an operator: repository, staged files, proposed message."""
    files = "\n".join(f"    {path}" for path in staged)
    body = "\n".join(f"    | {line}" for line in message.splitlines())
    return (
        f"derive-carrier: about to commit in {repo}\n"
        f"  staged ({len(staged)}):\n{files}\n"
        f"  message:\n{body}"
    )


def ask_on_terminal(repo: Path, staged: Sequence[str], message: str) -> CommitDecision:
    """Show the preview on stderr and read accept / edit / cancel from stdin.

    End of input cancels; ``e`` reads a new message ended by an empty line.
    """
    print(format_preview(repo, staged, message), file=sys.stderr)
    while True:
        print("accept, edit or cancel? [a/e/c] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        if not answer:
            return CommitDecision.cancel()
        choice = answer.strip().lower()[:1]
        if choice == "a":
            return CommitDecision.accept()
        if choice == "c":
            return CommitDecision.cancel()
        if choice == "e":
            print("new message, ended by an empty line:", file=sys.stderr)
            lines = []
            for line in sys.stdin:
                if not line.strip():
                    break
                lines.append(line.rstrip("\n"))
            if lines:
                return CommitDecision.edit("\n".join(lines) + "\n")
