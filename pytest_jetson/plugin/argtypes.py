"""Option value types whose errors quote the value in a short excerpt.

argparse reports a ``choices`` miss or a ``type`` that raised ``ValueError`` with the whole
value (``invalid choice: 'xxxx…'``): a 5000-character value makes a 5000-character line. An
:class:`argparse.ArgumentTypeError` is shown as its message alone, so these types raise one
that names what was expected and quotes at most :data:`~pytest_jetson.errors.EXCERPT`
characters of what was given.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from pytest_jetson.errors import excerpt


def one_of(*names: str) -> Callable[[str], str]:
    """A value that must be one of ``names``."""

    def check(value: str) -> str:
        if value not in names:
            raise argparse.ArgumentTypeError(
                f"expected one of {', '.join(names)}, got {excerpt(value)}"
            )
        return value

    check.__name__ = "|".join(names)
    return check


def number(
    *, minimum: float, maximum: float, zero_ok: bool = True, what: str = "a number"
) -> Callable[[str], float]:
    """A finite number in ``[minimum, maximum]`` (``(minimum, maximum]`` without ``zero_ok``)."""

    def check(value: str) -> float:
        try:
            result = float(value)
        except ValueError:
            result = math.nan
        low_ok = result >= minimum if zero_ok else result > minimum
        if not (math.isfinite(result) and low_ok and result <= maximum):
            low = f">= {minimum:g}" if zero_ok else f"> {minimum:g}"
            raise argparse.ArgumentTypeError(
                f"expected {what} {low} and <= {maximum:g}, got {excerpt(value)}"
            )
        return result

    return check


def whole_number(
    *, minimum: int, maximum: int, what: str = "a whole number"
) -> Callable[[str], int]:
    """An integer in ``[minimum, maximum]``."""

    def check(value: str) -> int:
        try:
            result = int(value)
        except ValueError:
            result = minimum - 1
        if not minimum <= result <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected {what} from {minimum} to {maximum}, got {excerpt(value)}"
            )
        return result

    return check


__all__ = ["number", "one_of", "whole_number"]
