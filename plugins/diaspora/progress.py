"""Progress of long work (``diaspora factsheet --all``, ``backfill``, ``run-dags``, the benchmarks):
items done of total, the time elapsed and what is running. On a terminal one line on stderr that
updates in place; elsewhere (a log, a CI job, a pipe) a plain line per item started and done, so
the output stays readable and greppable. Progress goes to stderr: stdout keeps the results."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self, label: str, total: int | None, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        """``total`` None when the count is not known in advance (items done are counted)."""
        self.label, self.total, self.done_count = label, total, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.terminal = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.running: str | None = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def start(self, item: str) -> None:
        """``item`` is running now."""
        self.running = item
        self._show("running")

    def done(self, item: str | None = None, announce: bool = True) -> None:
        """One more item done (``item``, or the one running); ``announce`` False when the caller
        prints its own line for it. On a terminal the updating line is cleared, so that what the
        caller prints next starts on a clean line."""
        self.done_count += 1
        self.running = item or self.running
        if self.terminal:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        elif announce:
            self._show("done")
        self.running = None

    def finish(self) -> None:
        """The work is over: a last line with the count and the time, on a terminal."""
        if self.terminal:
            self.stream.write(f"\r{self._line('done')}\x1b[K\n")
            self.stream.flush()

    def _line(self, state: str) -> str:
        what = f" · {state} {self.running}" if self.running else ""
        count = f"{self.done_count}/{self.total}" if self.total is not None else f"{self.done_count} done"
        return f"{self.label}: {count} · {self.elapsed:.0f} s{what}"

    def _show(self, state: str) -> None:
        if not self.enabled:
            return
        if self.terminal:
            self.stream.write(f"\r{self._line(state)}\x1b[K")
        else:
            self.stream.write(self._line(state) + "\n")
        self.stream.flush()
