"""Run a program in a real pseudo-terminal and wait until its rendered screen shows a text."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

import pexpect
import pyte


class Terminal:
    """A pexpect child whose output is rendered by pyte, so tests read the screen like a person."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        rows: int = 24,
        cols: int = 80,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        full_env = dict(os.environ)
        full_env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        if env:
            full_env.update(env)
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            argv[0], list(argv[1:]), dimensions=(rows, cols), env=full_env, cwd=cwd
        )

    def pump(self, timeout: float = 0.05) -> None:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            return
        self.stream.feed(data)

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, needle: str, timeout: float = 30.0) -> float:
        """Seconds until ``needle`` is on screen; raise TimeoutError naming what was seen."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            self.pump()
            if needle in self.text():
                return time.perf_counter() - start
            if not self.child.isalive():
                self.pump()
                if needle in self.text():
                    return time.perf_counter() - start
                break
        raise TimeoutError(f"{needle!r} did not appear; the screen shows:\n{self.text()}")

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
