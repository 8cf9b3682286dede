"""Values a user gives (options, ini keys, inventory and profile fields), checked where they
enter: numbers of seconds and paths. A bad one is a one-line configuration error naming what
was given and the fix, never a Python traceback later.

Seconds: every deadline is a finite number of seconds that a timer holds.

The timers behind the product's waits have limits of their own: ``threading`` waits refuse
more than ``threading.TIMEOUT_MAX`` (about 292 years on Linux), ``poll`` takes milliseconds in
a C int (about 24 days), and pytest-timeout's ``signal.setitimer`` overflows on huge values;
``inf`` overflows them all and ``nan`` compares false with everything, so a wait on it never
ends. A week is longer than any bench step waits and far inside every one of those limits.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from pytest_jetson.errors import excerpt, shorten

MAX_SECONDS = 7 * 24 * 3600.0
"""The longest wait any deadline may ask for: a week."""


def seconds_problem(value: float, *, zero_ok: bool = False) -> str | None:
    """Why ``value`` is not a usable number of seconds (None when it is)."""
    if not math.isfinite(value):
        return "must be a finite number of seconds"
    if value < 0 or (value == 0 and not zero_ok):
        return "must be a positive number of seconds" if not zero_ok else "must not be negative"
    if value > MAX_SECONDS:
        return f"must be at most {MAX_SECONDS:.0f} seconds (a week)"
    return None


def path_problem(value: str) -> str | None:
    """Why ``value`` cannot name a file on this host (None when it can): a NUL byte, or a
    ``~user`` whose user does not exist here."""
    if "\0" in value:
        return "contains a NUL byte"
    if value.startswith("~") and os.path.expanduser(value.split("/", 1)[0]).startswith("~"):
        return f"{excerpt(value.split('/', 1)[0])}: no such user on this host"
    return None


def is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; False, not an exception, for a name the system
    refuses (too long, a symlink loop, a NUL byte), which pathlib's ``is_file`` raises."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def user_path(value: str | Path, what: str, *, base: Path | None = None) -> Path:
    """``value`` as an absolute path (``~`` expanded, relative to ``base``, symlinks resolved).

    Raises a usage error naming ``what`` for a NUL byte, an unknown ``~user`` or a symlink
    loop: the errors ``os`` and ``pathlib`` raise as ``ValueError`` and ``RuntimeError``.
    """
    from pytest_jetson.errors import UsageError

    text = str(value)
    problem = path_problem(text)
    if problem is not None:
        raise UsageError(f"{what} {excerpt(text, 200)}: {problem}")
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        resolved = path.resolve()
        resolved.stat()  # a name too long, a loop: pathlib's is_file() would raise them later
    except (FileNotFoundError, NotADirectoryError):
        return resolved  # absent: each caller says what it needs there
    except (RuntimeError, OSError) as exc:  # a symlink loop: RuntimeError on 3.11, OSError later
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "a symlink loop"
        raise UsageError(f"{what} {excerpt(text, 200)}: cannot use the path ({reason})") from None
    return resolved


def check_seconds(value: float, what: str, *, zero_ok: bool = False) -> float:
    """``value`` when it is a usable number of seconds, else a usage error naming ``what``."""
    from pytest_jetson.errors import UsageError

    problem = seconds_problem(value, zero_ok=zero_ok)
    if problem is not None:
        raise UsageError(f"{what} {problem}, got {shorten(repr(value))}")
    return value
