"""The simulated Tegra Combined UART: other processors' output interleaved with the boot log.

On Orin and Thor the debug port carries the output of CCPLEX, BPMP, SPE, RCE, DCE and OP-TEE on
one stream; a two-byte prefix (not UTF-8) switches processor, from the moment MB2 enables the
combined UART (MB1 and the MB2 banner are untagged). What real captures show, and this module
reproduces from a seed (same seed, same boot: same bytes):

- another processor's line spliced into the middle of a line between two switch prefixes, its
  line end included (BPMP ends its lines with a bare LF, the boot log with CRLF);
- on Thor, a UEFI line and an OP-TEE line alternating in 4-byte chunks;
- UEFI lines wrapped at 80 columns;
- now and then part of a spliced fragment lost;
- a kernel message right after the login prompt, on its line.

``heavy`` (the ``tcu_garble`` fault) splices most lines, loses chunks of the boot log itself (always
inside the MB2 and UEFI banners, so those stages are not observed) and inserts some fragments with
no switch prefix at all. Lines that decide the boot (a panic, the wizard, the login banner and
prompt) lose nothing, though text may still be spliced into them between switch prefixes.
"""

from __future__ import annotations

import random
import re

from pytest_jetson.sim.bootlog import boot_script
from pytest_jetson.sim.state import DutState

CCPLEX = 0xE1
STREAMS = {"spe": 0xE0, "bpmp": 0xE2, "tz": 0xE4, "rce": 0xE5, "dce": 0xE6}
"""Stream bytes after the ``0xFF`` escape (the Xavier-era table; Orin's is not public)."""

FRAGMENTS: dict[str, tuple[str, ...]] = {
    "bpmp": (
        "bpmp: clk pex0_core rate above its maximum, clamped\n",
        "bpmp: thermal zones ready\n",
        "WARNING: clk_disable: emc already off\n",
        "bpmp: regulator init done\n",
    ),
    "spe": ("spe: combined uart mux ready\r\n",),
    "rce": ("[    2.104233] Camera-FW on rce started\r\n",),
    "dce": ("DCE: firmware boot done\r\n", "DCE: admin task running\r\n"),
    "tz": ("I/TC: secure storage ready\r\n",),
}
"""Short lines in the style of each processor (our own words)."""

OPTEE_LINE = "VM 8001: I/TC: WARNING (insecure configuration): debug build\r\n"
LATE_KERNEL = "[   27.620287] usb 1-2: new high-speed USB device number 3 using tegra-xusb\r\n"
BANNERS = ("I> MB2 (", "UEFI firmware (version ")
"""Markers the heavy mode always breaks (its chunk losses land inside them)."""
KEEP_STAGES = ("panic", "end")
"""Events whose text decides the boot: nothing of theirs is lost."""
WRAP = 80


def switch(stream: int) -> bytes:
    """The two-byte prefix that switches the combined UART to ``stream``."""
    return bytes((0xFF, stream))


class TcuRenderer:
    """Turns the boot log's lines into combined-UART bytes, one line at a time, in order."""

    def __init__(self, chip: str, seed: int, boot: int, *, heavy: bool = False) -> None:
        self.chip = chip
        self.heavy = heavy
        self.rng = random.Random(f"tcu:{seed}:{boot}:{chip}")
        self.tagged = False
        self._mb2_seen = False

    def line(self, stage: str, text: str) -> bytes:
        """The bytes of one boot-log line of ``stage`` (its CRLF included)."""
        raw = text.encode()
        keep = stage in KEEP_STAGES
        if not self.tagged:
            self.tagged = stage not in ("mb1", "mb2") or self._mb2_seen
            self._mb2_seen = self._mb2_seen or stage == "mb2"
        if self.heavy and not keep:
            raw = self._lose(raw)
        if stage == "uefi" and len(raw) > WRAP:
            raw = raw[:WRAP] + b"\r\n" + raw[WRAP:]
        if not self.tagged:
            return raw + b"\r\n"
        if self.chip == "t264" and stage == "uefi" and self.rng.random() < 0.5:
            return switch(CCPLEX) + self._alternate(raw) + b"\r\n"
        return switch(CCPLEX) + self._splice(raw, keep) + b"\r\n"

    def prompt(self, text: str) -> bytes:
        """The login prompt of the end of the boot, a kernel message after it on its line
        (heavy mode splices text into the prompt too)."""
        raw = self._splice(text.encode(), True) if self.heavy else text.encode()
        return raw + LATE_KERNEL.encode()

    def _lose(self, raw: bytes) -> bytes:
        """Heavy mode: a chunk of the line lost (inside the marker of a stage banner)."""
        banner = next((raw.find(b.encode()) for b in BANNERS if b.encode() in raw), -1)
        if banner >= 0:
            start = banner + self.rng.randrange(4)
        elif len(raw) > 8 and self.rng.random() < 0.25:
            start = self.rng.randrange(len(raw) - 4)
        else:
            return raw
        return raw[:start] + raw[start + self.rng.randint(4, 12) :]

    def _splice(self, raw: bytes, keep: bool) -> bytes:
        """Foreign fragments spliced at random places, between switch prefixes."""
        count = self.rng.choice((1, 2, 3)) if self.heavy else int(self.rng.random() < 0.15)
        cuts = sorted(self.rng.randrange(1, len(raw)) for _ in range(count)) if raw else []
        out, last = b"", 0
        for cut in cuts:
            out += raw[last:cut] + self._fragment(keep)
            last = cut
        return out + raw[last:]

    def _fragment(self, keep: bool) -> bytes:
        stream = self.rng.choice(sorted(FRAGMENTS))
        text = self.rng.choice(FRAGMENTS[stream]).encode()
        if self.rng.random() < 0.2:  # part of the fragment lost
            cut = self.rng.randrange(1, len(text))
            text = text[:cut] + text[min(cut + self.rng.randint(3, 10), len(text)) :]
        if self.heavy and not keep and self.rng.random() < 0.1:
            return text  # the switch prefixes lost as well
        return switch(STREAMS[stream]) + text + switch(CCPLEX)

    def _alternate(self, raw: bytes) -> bytes:
        """Thor: the line and an OP-TEE line alternating in 4-byte chunks."""
        other = OPTEE_LINE.encode()
        out = b""
        for at in range(0, max(len(raw), len(other)), 4):
            if at < len(other):
                out += switch(STREAMS["tz"]) + other[at : at + 4]
            if at < len(raw):
                out += switch(CCPLEX) + raw[at : at + 4]
        return out


def boot_bytes(state: DutState) -> bytes:
    """Everything the console of ``state`` prints during one boot, as one byte string: the
    lines of :func:`~pytest_jetson.sim.bootlog.boot_script` through the combined UART, and
    the login prompt when the boot ends at one (what the console process plays, minus time)."""
    renderer = TcuRenderer(
        state.chip, state.tcu_seed, state.boot_seq, heavy=state.has_fault("tcu_garble")
    )
    out = b""
    for event in boot_script(state):
        if event.kind == "line":
            out += renderer.line(event.stage, event.text)
        elif event.kind == "end" and event.end == "login" and state.flashed is not None:
            out += renderer.prompt(f"{state.flashed.hostname} login: ")
    return out


def demux(data: bytes) -> dict[int, bytes]:
    """Split combined-UART bytes per stream, as NVIDIA's demuxer does (untagged bytes count as
    CCPLEX's): the inverse of :class:`TcuRenderer` for everything it did not lose."""
    streams: dict[int, bytes] = {}
    current, at = CCPLEX, 0
    for found in re.finditer(rb"\xff([\xe0-\xef])", data):
        streams[current] = streams.get(current, b"") + data[at : found.start()]
        current, at = found.group(1)[0], found.end()
    streams[current] = streams.get(current, b"") + data[at:]
    return streams
