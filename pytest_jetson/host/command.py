"""One bench-tool invocation as a value: what runs, where, for how long, as whom, logged where.

A :class:`Command` is what every driver hands to its bench side's
:class:`~pytest_jetson.host.transport.CommandTransport`; the transport decides how it runs (a
local process group, or ``ssh -tt`` to a bench host) and nothing else does. The argv is a list
of words, never a shell string. ``assign`` holds the tool's own ``NAME=value`` variables (they
belong to its command line, as NVIDIA writes ``sudo BOARDSKU=0000 ./flash.sh``), ``env`` the
extra environment of the child; ``secrets`` are scrubbed from the log, the callback, the result
and every error.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Any

from pytest_jetson.host.redact import Redactor


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if mapping is None else MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Command:
    """One run of a bench tool.

    ``cwd`` is a path on the side that runs it (the bench host's for a remote bench);
    ``timeout`` is the deadline in seconds (the whole process group is killed when it passes,
    SIGTERM then SIGKILL after ``grace``); ``what`` names what is awaited in messages
    (``boardctl -t topo recovery``). ``sudo`` runs the tool through ``sudo -n`` unless the side
    runs as root. ``log`` (appended to) and ``on_line`` receive every output line.
    """

    argv: Sequence[str]
    cwd: PurePath | str
    what: str
    timeout: float
    env: Mapping[str, str] | None = None
    assign: Mapping[str, str] | None = None
    sudo: bool = False
    secrets: Redactor | Iterable[str] = ()
    log: Path | None = None
    on_line: Callable[[str], None] | None = field(default=None, compare=False)
    grace: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "env", _frozen(self.env))
        object.__setattr__(self, "assign", _frozen(self.assign))
        if not isinstance(self.secrets, Redactor):
            object.__setattr__(self, "secrets", Redactor(self.secrets))

    @property
    def redactor(self) -> Redactor:
        """The secrets as a :class:`Redactor`."""
        assert isinstance(self.secrets, Redactor)
        return self.secrets

    @property
    def shown(self) -> str:
        """The command line as a report may show it (secrets scrubbed)."""
        return shlex.join(self.redactor.argv(self.argv))

    def but(self, **changes: Any) -> Command:
        """A copy with ``changes`` (dataclass field names) applied."""
        return replace(self, **changes)
