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
    def from_yaml(cls, path: Path, err: Exception, text: str, first_line: int, message: str) -> InputError:
        """A YAML error at its own line; ``first_line`` is where ``text`` starts in the file."""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            return cls.at(path, first_line + mark.line, f"{message} ({getattr(err, 'problem', None) or 'invalid YAML'})")
        position = getattr(err, "position", None)  # a ReaderError: a character YAML does not allow
        if position is not None:
            character = getattr(err, "character", "")
            code = f"0x{ord(character):02x}" if isinstance(character, str) and character else "a character"
            line = first_line + text[:position].count("\n")
            return cls.at(path, line, f"{message} (control character {code} is not allowed; delete it)")
        return cls.at(path, first_line, f"{message} ({err})")


def key_lines(node, prefix: str = "") -> dict[str, int]:
    """Map the dotted keys of a composed YAML mapping (``audio.rate``) to the 1-based line each is written on."""
    import yaml

    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            dotted = f"{prefix}{key.value}"
            lines[dotted] = key.start_mark.line + 1
            lines.update(key_lines(value, dotted + "."))
    return lines


class RenderError(Exception):
    """A format could not be produced for a reason outside the source (a missing voice, say)."""


class OutputError(Exception):
    """The output folder cannot be written (read-only, not a folder, disk full)."""
