"""The Tegra Combined UART (TCU): several processors' output on one serial stream.

On Orin (AGX, NX, Nano) and Thor the debug port carries the output of CCPLEX, BPMP, SPE, RCE,
DCE, OP-TEE and others on one stream. The stream switches processor with a two-byte prefix that
is not valid UTF-8; a capture saved as text shows it as ``??`` or as two U+FFFD replacement
characters. The start of a boot (MB1, early MB2) is untagged: tagging starts once MB2 enables
the combined UART. What a reader of the raw stream sees:

- text of another processor spliced into the middle of a line, between two switch prefixes, and
  the spliced text may end a line of its own (it carries its own line ends);
- on Thor, firmware streams (UEFI and OP-TEE) alternating every few bytes;
- chunks of text lost with no trace, and splices whose switch prefixes were lost too;
- a login prompt followed by a kernel message on the same line.

So a marker is searched anywhere in the stream, never only at a line start, and
:func:`tolerant` lets a splice sit between any two of its characters. Lost text cannot be
recovered: the boot sequencer records a stage whose marker never arrived as not observed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pytest_jetson.console.patterns import BadPattern

SWITCH = rb"(?:\xef\xbf\xbd\xef\xbf\xbd|\?\?|[\x80-\xff]{2})"
"""A processor switch as it shows in a capture: two raw bytes that are not UTF-8 text (the raw
stream), two U+FFFD characters (a capture decoded with replacement) or ``??`` (pasted text)."""

SPLICE = rb"(?:" + SWITCH + rb"[\x00-\x7f]*?" + SWITCH + rb")?"
"""Optional text of another processor between two switches (ASCII, line ends included)."""


def tolerant(literal: bytes | str) -> bytes:
    """A bytes regex matching ``literal`` even with spliced text between any two characters."""
    raw = literal.encode() if isinstance(literal, str) else literal
    return SPLICE.join(re.escape(bytes([byte])) for byte in raw)


def tolerant_bad(patterns: Iterable[BadPattern]) -> tuple[BadPattern, ...]:
    """Splice-tolerant regex twins of the literal ``patterns`` (same names, so switching a
    pattern off by name switches its twin off too)."""
    return tuple(
        BadPattern(p.name, tolerant(p.pattern), regex=True)
        for p in patterns
        if not p.regex and len(p.pattern) > 1
    )
