"""Secret scrubbing: replace every known secret with ``***`` before text leaves the process.

A :class:`Redactor` is handed to whatever logs, returns or raises text that a secret may have
reached (a tool's output, an argv, an error message). Secrets are matched literally; a secret
that spans several lines is also matched line by line, because output is streamed per line.

Patterns cover values that are printed in a known shape but are not known in advance (a tool
that prints ``Password - <p>``); flags cover argv values (``-p <password>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
"""What a secret is replaced with."""


class Redactor:
    """A set of secret strings and the function that scrubs them out of text."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        patterns: Iterable[str] = (),
        flags: Iterable[str] = (),
    ) -> None:
        self._secrets: set[str] = set()
        self._patterns: list[re.Pattern[str]] = []
        self._flags: set[str] = set(flags)
        for secret in secrets:
            self.add(secret)
        for pattern in patterns:
            self.add_pattern(pattern)

    def add(self, secret: str) -> None:
        """Register ``secret`` (and each of its non-empty lines) for scrubbing."""
        for part in (secret, *secret.splitlines()):
            if part.strip():
                self._secrets.add(part)

    def add_pattern(self, pattern: str) -> None:
        """Scrub the ``secret`` named group of every match of the regular expression."""
        compiled = re.compile(pattern)
        if "secret" not in compiled.groupindex:
            raise ValueError(f"pattern {pattern!r} has no (?P<secret>...) group")
        self._patterns.append(compiled)

    def add_flag(self, flag: str) -> None:
        """Scrub the argv element that follows ``flag`` (e.g. ``-p``)."""
        self._flags.add(flag)

    def __bool__(self) -> bool:
        return bool(self._secrets or self._patterns or self._flags)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``***`` (longest secrets first)."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in self._patterns:
            text = pattern.sub(_mask_group, text)
        return text

    def argv(self, argv: Iterable[str]) -> tuple[str, ...]:
        """Scrub every element of a command line, and the value after each secret flag."""
        out: list[str] = []
        for arg in argv:
            out.append(MASK if out and out[-1] in self._flags else self(arg))
        return tuple(out)


def _mask_group(match: re.Match[str]) -> str:
    start, end = match.span("secret")
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + MASK + whole[end - offset :]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with each of ``secrets`` replaced by ``***``."""
    return Redactor(secrets)(text)
