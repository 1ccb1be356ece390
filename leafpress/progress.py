"""Progress for long builds: one tqdm bar for the whole library on a terminal, plain lines in CI logs."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, stream: TextIO = sys.stderr):
        self.total = total
        self.label = label
        self.stream = stream
        self.done = 0
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=label, unit="leaflet", file=stream, leave=False)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def advance(self, what: str, quiet: bool = False) -> None:
        """One more leaflet done; ``quiet`` ones (left unchanged) print no line of their own in logs."""
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(1)
        elif not quiet:
            print(f"[{self.done}/{self.total}] {what}", file=self.stream, flush=True)
