"""A logged-in shell on the DUT's serial console, for HIL tests (``jetson_shell``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_jetson.errors import ConfigError

if TYPE_CHECKING:
    from pytest_jetson.console import SerialConsole


@dataclass
class Shell:
    """Run simple commands on a logged-in console and get their output."""

    console: SerialConsole
    username: str
    timeout: float = 30.0

    @classmethod
    def login(
        cls,
        console: SerialConsole,
        username: str,
        password: str | None,
        *,
        timeout: float,
        secret: bool = True,
    ) -> Shell:
        """Log in as ``username``; a ``secret`` password is never logged."""
        from pytest_jetson.console.boot import login

        if password is None:
            raise ConfigError(
                f"no password known for user {username!r}: for a custom default user set the "
                "environment variable the bench entry names in default_user.password_env",
                key="default_user",
            )
        login(console, username, password, prompt_timeout=timeout, secret=secret)
        return cls(console, username, timeout)

    def run(self, command: str, *, timeout: float | None = None, check: bool = True) -> str:
        """Run ``command`` and return its output; a non-zero exit raises (``check``)."""
        from pytest_jetson.console.boot import run

        return run(self.console, command, timeout=timeout or self.timeout, check=check)
