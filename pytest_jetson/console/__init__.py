"""The serial console: background reader, timestamped log, ``expect`` with bad patterns.

``pytest_jetson.console.SerialConsole.open(port, baudrate=115200, log=path)`` is usable outside
pytest; see :mod:`pytest_jetson.console.core`.
"""

from pytest_jetson.console.core import ConsoleMatch, SerialConsole
from pytest_jetson.console.errors import BadPatternSeen, ConsoleLost, ConsoleTimeout
from pytest_jetson.console.log import strip_log_stamps
from pytest_jetson.console.patterns import (
    DEFAULT_BAD_PATTERNS,
    OEM_WIZARD_MARKERS,
    OEM_WIZARD_PATTERNS,
    BadPattern,
    PatternLike,
)

__all__ = [
    "DEFAULT_BAD_PATTERNS",
    "OEM_WIZARD_MARKERS",
    "OEM_WIZARD_PATTERNS",
    "BadPattern",
    "BadPatternSeen",
    "ConsoleLost",
    "ConsoleMatch",
    "ConsoleTimeout",
    "PatternLike",
    "SerialConsole",
    "strip_log_stamps",
]
