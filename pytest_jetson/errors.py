"""One exception tree for the whole package.

* :class:`ConfigError` — the user's input is wrong (profile, bench inventory, usage).
  The plugin reports it as a usage error or a failure; it is never retried.
* :class:`BenchError` — infrastructure: boardctl, USB, a lock, a lost console, a host tool
  missing. The plugin turns it into a skip (or an error) and latches the DUT broken.
* :class:`DutError` — the board or the image misbehaves: the flash failed, the boot failed,
  the EEPROM disagrees with the profile. The plugin reports it as a test failure.
"""

from __future__ import annotations


class JetsonError(Exception):
    """Base of every error raised by pytest-jetson."""


class ConfigError(JetsonError):
    """Bad input: a profile, a bench inventory or a command-line usage.

    ``path``, ``line`` and ``key`` locate the problem when it comes from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            # A path longer than any real one is quoted by its ends (its name stays readable).
            where = self.path if len(self.path) <= 300 else f"{self.path[:60]}...{self.path[-60:]}"
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class ProfileError(ConfigError):
    """A target-platform profile is malformed or inconsistent."""


class InventoryError(ConfigError):
    """A bench inventory is malformed or names something unknown."""


class UsageError(ConfigError):
    """A command-line option or marker is used wrongly."""


class BenchError(JetsonError):
    """Infrastructure failure: the bench, not the board under test, is at fault.

    ``output`` carries the captured output of the tool that failed, when there is one.
    """

    def __init__(self, message: str, *, output: str = "") -> None:
        self.message = message
        self.output = output
        super().__init__(message)


class DeadlineExceeded(BenchError):
    """A wait ran out of time. The message says what was awaited and for how long."""


class DutError(JetsonError):
    """The board or the image misbehaves (a product failure)."""

    def __init__(self, message: str, *, output: str = "") -> None:
        self.message = message
        self.output = output
        super().__init__(message)


LINE_LIMIT = 240
"""The most characters of one received line a message shows: a board that sends megabytes
without a newline must not make a megabyte message (the full text is in the log)."""


def clip(line: str, limit: int = LINE_LIMIT) -> str:
    """``line`` for a message: its first ``limit`` characters, then how many were left out."""
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... ({len(line) - limit} more characters, see the log)"


EXCERPT = 40
"""How many characters of a value read from a file or the command line a message quotes (a
binary or minified file given as YAML must not flood the terminal)."""


def shorten(text: str, limit: int = EXCERPT) -> str:
    """``text`` unquoted, cut to ``limit`` characters (``...`` marks the cut)."""
    return text if len(text) <= limit else f"{text[:limit]}..."


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """``text`` quoted for an error message, cut to ``limit`` characters with its length said."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
