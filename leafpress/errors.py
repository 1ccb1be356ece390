"""Problems found in user input, reported as ``<file>:<line>: <what is wrong and how to fix it>``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class InputError(Exception):
    """One or more problems in a source or settings file; never shown with a traceback."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems

    @classmethod
    def at(cls, path: Path, line: int, message: str) -> InputError:
        return cls([Problem(path, line, message)])

    @classmethod
    def from_yaml(cls, path: Path, err: Exception, first_line: int, message: str) -> InputError:
        """A YAML parse error at its line; ``first_line`` is where the YAML text starts in the file."""
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or "invalid YAML"
        return cls.at(path, first_line + (mark.line if mark else 0), f"{message} ({problem})")


class RenderError(Exception):
    """A format could not be produced for a reason outside the source (a missing voice, say)."""
