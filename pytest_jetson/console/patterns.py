"""Console patterns: the bad patterns (kernel panics, oopses
and faults, soft lockups, RCU stalls, UEFI asserts and exceptions, emergency mode) and the matchers
that search a stream.

A matcher searches the console's byte buffer in place (no copy for ``bytes`` patterns) from a
start offset, so the console can scan only new data plus a small overlap: the pattern's largest
possible width when the regular expression is bounded, ``max_span`` otherwise. A regex that is a
plain literal is searched with ``bytes.find``, which is faster than the regex engine.

A :class:`BadScanner` looks for the earliest of several bad patterns. Their literals are found in
one pass by an Aho-Corasick automaton when the optional ``ahocorasick_rs`` package is installed
(about twenty times faster than a ``bytes.find`` pass per pattern), else by one pass each.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

from pytest_jetson.errors import clip

PatternLike: TypeAlias = "str | bytes | re.Pattern[str] | re.Pattern[bytes]"
"""What ``expect`` accepts: a ``str`` regex (matched against decoded text), a ``bytes`` regex
(matched against the raw bytes), or a compiled one of either."""

LOOKAROUND_SLACK = 64
"""Extra overlap for bounded regexes, covering lookahead (which width computations ignore)."""

_UNBOUNDED = 1 << 30
_TEXT_WINDOW = 1 << 12
_COPY_BELOW = 1 << 12


@dataclass(frozen=True)
class BadPattern:
    """Console output that fails the wait at once (U-Boot test/py style).

    ``name`` identifies it for :meth:`SerialConsole.disable_bad_pattern`; several entries may
    share a name and are switched off together. ``pattern`` is a literal unless ``regex``.
    """

    name: str
    pattern: bytes
    regex: bool = False


DEFAULT_BAD_PATTERNS: tuple[BadPattern, ...] = (
    BadPattern("kernel_panic", b"Kernel panic - not syncing"),
    BadPattern("kernel_oops", b"Internal error: Oops"),
    BadPattern("kernel_fault", b"Unable to handle kernel"),
    BadPattern("soft_lockup", b"watchdog: BUG: soft lockup"),
    BadPattern("rcu_stall", b"rcu_preempt detected stalls"),
    BadPattern("uefi_assert", b"ASSERT ["),
    BadPattern("uefi_exception", b"Synchronous Exception at"),
    BadPattern("emergency_mode", b"You are in emergency mode"),
)
"""Watched during every wait unless switched off: the lines NVIDIA's boot logs print when a
boot has failed."""

OEM_WIZARD_MARKERS: tuple[bytes, ...] = (
    b"Please complete system configuration setup",
    b"No serial port found to configure system!",
    b"System configuration setup wasn't completed",
    b"Welcome to Jetson Initial Configuration",
    b"License For Customer Use of NVIDIA Software",
    b"APP Partition Size",
    b"Create SWAP File",
)
"""First-boot (oem-config) wizard text, R35 wording (the R38+ text is unverified)."""

OEM_WIZARD_PATTERNS: tuple[BadPattern, ...] = tuple(
    BadPattern("oem_wizard", marker) for marker in OEM_WIZARD_MARKERS
)
"""The wizard as bad patterns: a failure when a default user was staged."""


class Matcher:
    """One compiled pattern, searching a buffer from an offset.

    ``overlap`` is how many already-scanned bytes must be searched again when new data arrives
    so that a match straddling two reads is still found.
    """

    __slots__ = ("is_text", "literal", "overlap", "regex", "source")

    def __init__(self, source: PatternLike | BadPattern, max_span: int) -> None:
        self.literal: bytes | None = None
        self.regex: re.Pattern[Any] | None = None
        self.source: str | bytes
        self.is_text = False
        if isinstance(source, BadPattern):
            self.source = source.pattern
            if source.regex:
                self.regex = re.compile(source.pattern)
                self.overlap = _overlap(self.regex, max_span)
            else:
                self.literal = source.pattern
                self.overlap = max(len(source.pattern) - 1, 0)
            return
        regex = re.compile(source) if isinstance(source, str | bytes) else source
        self.regex = regex
        self.source = regex.pattern
        self.is_text = isinstance(regex.pattern, str)
        self.literal = _literal(regex.pattern, regex.flags)
        if self.literal is not None:
            self.overlap = max(len(self.literal) - 1, 0)
        else:
            self.overlap = _overlap(regex, max_span)

    def describe(self) -> str:
        """The pattern as text between quotes, for messages: a bytes pattern is shown as its
        text (no ``b'...'`` literal) and regex escapes are shown once, as written."""
        source = self.source
        text = source.decode("utf-8", "backslashreplace") if isinstance(source, bytes) else source
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
        return f"'{clip(shown, 120)}'"

    def find(self, buf: bytearray, start: int, limit: int) -> tuple[int, int] | None:
        """The span of the first match starting in ``[start, limit]``, or None."""
        if limit < start:
            return None
        literal = self.literal
        if literal is not None:
            at = buf.find(literal, start, limit + len(literal))
            return None if at < 0 else (at, at + len(literal))
        assert self.regex is not None
        if not self.is_text:
            m = self.regex.search(buf, start)
            if m is None or m.start() > limit:
                return None
            return m.span()
        return self._find_text(buf, start, limit)

    def _find_text(self, buf: bytearray, start: int, limit: int) -> tuple[int, int] | None:
        """A ``str`` regex over decoded windows of the buffer, not the whole rest of it.

        A window's answer stands when the window reaches the end of the data, or when its match
        ends at least ``overlap`` before the window's end (so neither a lookahead nor an end of
        text can have been faked by the cut); otherwise the window grows fourfold.
        """
        assert self.regex is not None
        size = max(_TEXT_WINDOW, 4 * self.overlap)
        while True:
            stop = start + size
            raw = bytes(buf[start:stop])
            text = raw.decode("utf-8", "surrogateescape")
            tm = self.regex.search(text)
            whole = stop >= len(buf)
            if tm is None:
                if whole:
                    return None
            else:
                span = _byte_span(raw, text, tm.start(), tm.end())
                if whole or span[1] + self.overlap <= len(raw):
                    if start + span[0] > limit:
                        return None
                    return start + span[0], start + span[1]
            size *= 4

    def match_object(self, snap: bytes, span: tuple[int, int]) -> re.Match[Any]:
        """A real ``re.Match`` for ``span`` of the immutable snapshot ``snap``.

        ``str`` patterns give a match over decoded text, ``bytes`` patterns over bytes.
        """
        found = self.match_in(snap, span)
        assert found is not None, "a match found in the buffer is found again in its snapshot"
        return found

    def match_in(self, snap: bytes, span: tuple[int, int]) -> re.Match[Any] | None:
        """Like :meth:`match_object`, or None when searching ``snap`` from ``span[0]`` does not
        give back exactly ``span`` (a snapshot cut short of what a lookahead needs)."""
        regex = self.regex or re.compile(re.escape(self.literal or b""))
        if not self.is_text:
            found: re.Match[Any] | None = regex.search(snap, span[0])
            return found if found is not None and found.span() == span else None
        text = snap.decode("utf-8", "surrogateescape")
        found = regex.search(text, len(snap[: span[0]].decode("utf-8", "surrogateescape")))
        if found is None or _byte_span(snap, text, found.start(), found.end()) != span:
            return None
        return found


class BadScanner:
    """Finds the earliest of several bad patterns in a buffer.

    Literal patterns are searched in one pass by an Aho-Corasick automaton when ``accelerate``
    and the ``ahocorasick_rs`` package is installed; regex patterns (and every literal without
    it) are searched one by one. ``overlap`` is how much scanned data must be searched again.
    """

    __slots__ = ("_automaton", "_automaton_ids", "_each", "_longest", "overlap", "patterns")

    def __init__(
        self, patterns: Sequence[BadPattern], max_span: int, *, accelerate: bool = True
    ) -> None:
        self.patterns = tuple(patterns)
        matchers = [matcher_for(p, max_span) for p in self.patterns]
        self.overlap = max((m.overlap for m in matchers), default=0)
        literal_ids = [i for i, p in enumerate(self.patterns) if not p.regex and p.pattern]
        self._automaton: Any = None
        if accelerate and len(literal_ids) > 1:
            self._automaton = _automaton(tuple(self.patterns[i].pattern for i in literal_ids))
        if self._automaton is None:
            literal_ids = []
        self._automaton_ids = literal_ids
        self._longest = max((len(self.patterns[i].pattern) for i in literal_ids), default=0)
        skip = set(literal_ids)
        self._each = [(i, m) for i, m in enumerate(matchers) if i not in skip]

    @property
    def accelerated(self) -> bool:
        """Whether literals are searched in one pass."""
        return self._automaton is not None

    def find(self, buf: bytearray, start: int, limit: int) -> tuple[int, int, BadPattern] | None:
        """The earliest match starting in ``[start, limit]`` (on a tie, the earlier pattern)."""
        best: tuple[int, int, int] | None = None
        if self._automaton is not None and limit >= start:
            stop = limit + self._longest
            if stop > len(buf):
                stop = len(buf)
            if stop - start <= _COPY_BELOW:
                # A short range (one expect's worth) is cheaper copied than viewed.
                found = self._automaton.find_matches_as_indexes(buf[start:stop])
            else:
                with memoryview(buf) as whole, whole[start:stop] as view:
                    found = self._automaton.find_matches_as_indexes(view)
            if found and start + found[0][1] <= limit:
                which, lo, hi = found[0]
                best = (start + lo, self._automaton_ids[which], start + hi)
                limit = start + lo
        for index, matcher in self._each:
            span = matcher.find(buf, start, limit)
            if span is not None and (best is None or (span[0], index) < best[:2]):
                best = (span[0], index, span[1])
                limit = span[0]
        if best is None:
            return None
        return best[0], best[2], self.patterns[best[1]]


@lru_cache(maxsize=64)
def _automaton(literals: tuple[bytes, ...]) -> Any:
    try:
        module: Any = importlib.import_module("ahocorasick_rs")
        return module.BytesAhoCorasick(literals, matchkind=module.MatchKind.LeftmostFirst)
    except Exception:  # not installed, or a build that cannot take these patterns
        return None


_LITERAL_SOURCE = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\[^0-9A-Za-z]|\\[nrtfv])+", re.DOTALL)
_NOT_LITERAL = re.compile(r"(?<!\\)[.^$*+?{}\[\]|()]|\\[0-9A-Za-eg-mo-qsuw-z]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_NOT_LITERAL_FLAGS = int(re.IGNORECASE | re.VERBOSE)
_ESCAPED_CONTROLS = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v"}


def _literal(pattern: str | bytes, flags: int) -> bytes | None:
    """The bytes a regex matches when it is a plain literal (UTF-8 for ``str``), else None.

    Read off the source, not through the regex parser (which costs more than a whole expect):
    a character other than ``\\.^$*+?{}[]|()`` stands for itself, and so does one after a
    backslash unless it is an ASCII letter or digit; ``\\n``, ``\\r``, ``\\t``, ``\\f`` and
    ``\\v`` are the control characters. Anything else (and a case-insensitive or verbose
    pattern) is left to the regex engine.
    """
    if flags & _NOT_LITERAL_FLAGS:
        return None
    source = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    if "\\\\" in source:
        if _LITERAL_SOURCE.fullmatch(source) is None:
            return None
    elif not source or _NOT_LITERAL.search(source) is not None:
        # Without an escaped backslash, every backslash escapes the character after it.
        return None
    if "\\" in source:
        source = _ESCAPE.sub(lambda m: _ESCAPED_CONTROLS.get(m[1], m[1]), source)
    return source.encode("latin-1" if isinstance(pattern, bytes) else "utf-8")


def _byte_span(raw: bytes, text: str, start: int, end: int) -> tuple[int, int]:
    if len(raw) == len(text):
        return start, end
    head = len(text[:start].encode("utf-8", "surrogateescape"))
    return head, head + len(text[start:end].encode("utf-8", "surrogateescape"))


def _overlap(regex: re.Pattern[Any], max_span: int) -> int:
    width = _quick_width(regex.pattern)
    if width is None:
        width = _max_width(regex.pattern, regex.flags)
    if width >= _UNBOUNDED:
        return max_span
    if isinstance(regex.pattern, str):
        width *= 4
    return width + LOOKAROUND_SLACK


def _quick_width(pattern: str | bytes) -> int | None:
    """A bound on a regex's match width (in characters) read off its source, or None.

    Without a repetition (``*``, ``+``, ``{``) or a back-reference, every piece of a pattern's
    source matches at most one character per source character (an escape or a class is several
    source characters for one matched), so the source's length bounds the match. ``*`` or ``+``
    count as unbounded even where they are literal (in a class, escaped), which only widens the
    overlap; ``{`` and back-references are left to the regex parser.
    """
    source = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    if "{" in source or "(?P=" in source or _BACKREF.search(source):
        return None
    if "*" in source or "+" in source:
        return _UNBOUNDED
    return len(source)


_BACKREF = re.compile(r"\\[1-9]")


@lru_cache(maxsize=512)
def _max_width(pattern: str | bytes, flags: int) -> int:
    source = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    try:
        parser: Any = getattr(re, "_parser")  # noqa: B009  (private module, no stubs)
        return int(parser.parse(source, flags & ~re.ASCII & ~re.UNICODE).getwidth()[1])
    except Exception:
        return _UNBOUNDED


@lru_cache(maxsize=512)
def matcher_for(pattern: PatternLike | BadPattern, max_span: int) -> Matcher:
    """A cached :class:`Matcher` for ``pattern``."""
    return Matcher(pattern, max_span)
