"""The fonts a leaflet is set in, chosen per script from the settings, and the check that every
character it prints has a glyph in one of them.

Each face is one complete font file per weight (WeasyPrint mixes up glyphs when one family
is split over several files by ``unicode-range``). The settings list, for each script (or a
language that needs its own face, as Urdu needs Nastaliq), the faces in order of preference;
a leaflet is set in the first of them that has every letter it uses in that script, so a
word is never drawn in two faces, and the others fill in single characters.
"""

from __future__ import annotations

import io
import unicodedata as ucd
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from fontTools import unicodedata

from ..errors import InputError, Problem
from .tags import LanguageInfo

HAN_SCRIPTS = frozenset({"Hani", "Hans", "Hant"})  # Han characters take the face of the leaflet's Chinese
NEUTRAL_SCRIPTS = frozenset({"Zyyy", "Zinh", "Zzzz"})  # digits, punctuation, marks: drawn by whichever face has them
INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})  # never drawn as glyphs, so never checked


@dataclass(frozen=True)
class FontFile:
    """A font file, or one face of a collection (``NotoSansCJK-Regular.ttc#2``)."""

    path: Path
    index: int = 0

    @property
    def is_collection_face(self) -> bool:
        return self.path.suffix.lower() in (".ttc", ".otc")

    @property
    def url(self) -> str:
        return self.path.as_uri() + (f"?face={self.index}" if self.is_collection_face else "")

    def __str__(self) -> str:
        return f"{self.path}#{self.index}" if self.is_collection_face else str(self.path)


@dataclass(frozen=True)
class Face:
    family: str
    regular: FontFile
    bold: FontFile
    line: int = field(default=0, compare=False)  # where the settings name it

    @property
    def files(self) -> tuple[FontFile, FontFile]:
        return self.regular, self.bold


@dataclass(frozen=True)
class FontOptions:
    """The ``fonts:`` settings: the faces, the faces of each script, and taller lines for some scripts."""

    faces: tuple[Face, ...] = ()
    scripts: tuple[tuple[str, tuple[str, ...]], ...] = ()  # script or language -> family names, in order
    line_heights: tuple[tuple[str, float], ...] = ()  # script or language -> the least line height it needs

    def face(self, family: str) -> Face:
        return next(face for face in self.faces if face.family == family)

    def for_key(self, keys: Iterable[str], table: str = "scripts"):
        entries = dict(getattr(self, table))
        lowered = {key.lower(): value for key, value in entries.items()}
        return next((lowered[key.lower()] for key in keys if key.lower() in lowered), None)


@dataclass(frozen=True)
class FontPlan:
    """The faces a leaflet is set in, in CSS order, and the least line height its script needs."""

    faces: tuple[Face, ...]
    line_height: float = 0.0

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(face.family for face in self.faces)

    @property
    def files(self) -> tuple[FontFile, ...]:
        return tuple(file for face in self.faces for file in face.files)


def language_keys(info: LanguageInfo) -> list[str]:
    """The settings keys that may name the faces of a language's own script, most specific first."""
    keys = [info.tag, f"{info.language}-{info.territory}", f"{info.language}-{info.script}", info.language, info.script]
    return list(dict.fromkeys(key for key in keys if key and not key.endswith("-")))


def script_keys(script: str, info: LanguageInfo) -> list[str]:
    if script == info.script or (script in HAN_SCRIPTS and info.script in HAN_SCRIPTS):
        return language_keys(info)
    return [script, "Hani"] if script in HAN_SCRIPTS else [script]


def plan_fonts(text: str, info: LanguageInfo, options: FontOptions, settings_file: Path,
               locate: Callable[[str], tuple[Path, int] | None] = lambda char: None) -> FontPlan:
    """The faces for a leaflet whose printed text is ``text``; raises InputError for a face whose
    file is not installed, and for every character no face has (``locate`` gives the file and
    line to blame for a character; the settings file otherwise)."""
    by_script: dict[str, set[str]] = {info.script: set()}
    for char in set(text):
        if ucd.category(char) in INVISIBLE:
            continue
        script = unicodedata.script(char)
        if script not in NEUTRAL_SCRIPTS:
            by_script.setdefault(info.script if script in HAN_SCRIPTS and info.script in HAN_SCRIPTS else script, set()).add(char)
    faces: list[Face] = []
    for script, chars in sorted(by_script.items(), key=lambda item: item[0] != info.script):
        families = options.for_key(script_keys(script, info)) or ()
        candidates = [options.face(family) for family in families]
        covering = next((face for face in candidates if chars <= covered(face)), None)
        for face in ([covering] if covering else []) + candidates:
            if face not in faces:
                faces.append(face)
    _check_installed(faces, settings_file)
    missing = []
    for char in sorted(set(text)):  # digits and punctuation a script's own faces lack: the first face that has them
        if ucd.category(char) in INVISIBLE or any(char in covered(face) for face in faces):
            continue
        fallback = next((face for face in options.faces if face.regular.path.is_file() and char in covered(face)), None)
        if fallback is None:
            missing.append(char)
        else:
            faces.append(fallback)
    if missing:
        raise InputError([_missing_problem(char, faces, info, locate(char) or (settings_file, 1)) for char in missing])
    line_height = options.for_key(language_keys(info), "line_heights") or 0.0
    return FontPlan(tuple(faces), float(line_height))


def _missing_problem(char: str, faces: list[Face], info: LanguageInfo, where: tuple[Path, int]) -> Problem:
    script = unicodedata.script(char)
    key = info.language if script == info.script else script
    path, line = where
    families = ", ".join(face.family for face in faces) or "none"
    return Problem(path, line, f"the character {char!r} (U+{ord(char):04X}, {unicodedata.script_name(script)} script) is in none of the fonts "
                   f"this leaflet is set in ({families}); add a face for it under fonts.scripts in layouts/settings.yaml "
                   f"(e.g. '{key}: [Noto Sans …]') or remove the character")


@cache
def covered(face: Face) -> frozenset[str]:
    """The characters every weight of a face has a glyph for (empty if a file is missing)."""
    sets = [_cmap(file) for file in face.files]
    return frozenset.intersection(*sets) if sets else frozenset()


@cache
def _cmap(file: FontFile) -> frozenset[str]:
    from fontTools.ttLib import TTFont, TTLibError

    try:
        font = TTFont(str(file.path), fontNumber=file.index, lazy=True)
        return frozenset(map(chr, font.getBestCmap() or {}))
    except (OSError, TTLibError):
        return frozenset()


def face_bytes(file: FontFile) -> bytes:
    """One face of a font collection as a font file of its own (WeasyPrint loads whole files)."""
    from fontTools.ttLib import TTFont

    buffer = io.BytesIO()
    TTFont(str(file.path), fontNumber=file.index, lazy=True).save(buffer)
    return buffer.getvalue()


def _check_installed(faces: list[Face], settings_file: Path) -> None:
    """InputError for a face whose file is not there, naming the packages that install them."""
    problems = [
        Problem(settings_file, face.line or 1, f"the font file {file} (face '{face.family}') is not installed; run make, which installs "
                "the fonts (fonts-noto-core, fonts-noto-cjk), or correct its path under fonts.faces")
        for face in faces for file in face.files if not file.path.is_file()
    ]
    if problems:
        raise InputError(problems)
