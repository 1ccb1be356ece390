"""Which formats of which leaflets need building, decided by content hashes kept in output/.

A format of a leaflet is up to date when the hashes of what it is made from (its source,
the source's images, the settings, the templates and logo, the fonts, the pronunciation
list, leafpress's own code and engine versions) equal those recorded when it was last
built, and its files are still there as they were written. Deciding this only reads and
hashes files: no Markdown is parsed and no rendering engine is imported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from functools import cached_property
from pathlib import Path

from ..model import checksum
from ..settings import LibraryOptions, Settings

STATE_NAME = "build-state.jsonl"
OLD_STATE_NAME = "build-state.json"  # leafpress before the state held a record a line
STATE_VERSION = 2
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the whole leafpress package

# What each format is made from, besides its source. A renderer that starts reading another
# file must have it listed here, or editing that file will not rebuild its outputs.
FORMAT_INPUTS: dict[str, tuple[str, ...]] = {
    "print": ("images", "settings", "templates", "catalogue", "fonts", "tool"),
    "large-print": ("images", "settings", "templates", "catalogue", "fonts", "tool"),
    "docx": ("images", "settings", "templates", "catalogue", "tool"),
    "audio": ("settings", "catalogue", "pronunciations", "speech_engine", "tool"),
    "braille": ("settings", "catalogue", "braille_engine", "tool"),
    # The EPUB and the web page are made from the audio's files too (Renderer.reads); the EPUB from
    # the audio's script as well, made again to pair the text with the MP3's sentences.
    "epub": ("images", "settings", "templates", "catalogue", "pronunciations", "tool"),
    "html": ("images", "settings", "templates", "catalogue", "fonts", "languages", "tool"),  # links its other languages
}
# For a format not listed above: everything.
ALL_INPUTS = ("images", "settings", "templates", "catalogue", "fonts", "languages", "pronunciations", "speech_engine", "braille_engine", "tool")
# Files in layouts/ that no leaflet is made from (the pronunciation list counts for audio only).
NOT_TEMPLATES = frozenset({"pronunciations.yaml", "index.html.j2"})
TABLES = "/usr/share/liblouis/tables"  # liblouis-data
ENGINES = ("weasyprint", "pikepdf", "python-docx", "pyttsx3", "lameenc", "mutagen", "numpy", "jinja2", "markdown-it-py", "pyyaml", "segno")

REASONS = {
    "source": "the source changed",
    "images": "an image changed",
    "settings": "the settings changed",
    "templates": "the layouts changed",
    "catalogue": "its language's fixed text changed",
    "fonts": "the fonts changed",
    "languages": "its other languages changed",
    "audio": "its audio changed",
    "pronunciations": "the pronunciation list changed",
    "speech_engine": "the speech engine was updated",
    "braille_engine": "liblouis was updated",
    "tool": "leafpress was updated",
}
MISSING = "missing"


def digest(*parts: str | bytes) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def _stat(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return MISSING
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def state_key(source: Path, root: Path) -> str:
    """A source's key in the build state: its path from the output folder (``root``, resolved)."""
    return Path(os.path.relpath(os.path.realpath(source), root)).as_posix()


def source_hash(path: Path) -> str:
    """The checksum the reader records as ``Leaflet.checksum``, or ``missing``."""
    try:
        return checksum(path.read_bytes())
    except OSError:
        return MISSING


class Inputs:
    """The hashes of what leaflets are made from, each file read at most once per build."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._files: dict[Path, str] = {}
        self._catalogues: dict[str, str] = {}  # language -> hash of its catalogue files
        self._sources: dict[Path, dict[str, list[str]]] = {}  # folder -> slug -> the names of its sources there

    def file(self, path: Path) -> str:
        path = Path(path).resolve()
        if path not in self._files:
            try:
                self._files[path] = digest(path.read_bytes())
            except OSError:
                self._files[path] = MISSING
        return self._files[path]

    def _files_hash(self, root: Path, paths: Sequence[Path]) -> str:
        return digest(*(part for path in paths for part in (path.relative_to(root).as_posix(), self.file(path))))

    @cached_property
    def settings_hash(self) -> str:
        """Every setting an output depends on (all but library:, which says where the build runs)."""
        return digest(repr(dataclasses.replace(self.settings, library=LibraryOptions())))

    @cached_property
    def templates(self) -> str:
        """Every file of the layouts folder (templates, stylesheets, the logo…) but the catalogues."""
        from ..languages.catalogue import FOLDER

        root = self.settings.layouts_dir.resolve()
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.name not in NOT_TEMPLATES
                       and not any(part.startswith(".") for part in p.relative_to(root).parts) and p.relative_to(root).parts[0] != FOLDER)
        logo = self.settings.logo_path
        return digest(self._files_hash(root, files), self.file(logo) if logo else "")

    @cached_property
    def fonts(self) -> str:
        """The fonts/ folder, and the installed font files the settings name (by size and date:
        a CJK collection is 20 MB, too much to read on every build)."""
        root = self.settings.fonts_dir.resolve()
        own = self._files_hash(root, sorted(p for p in root.rglob("*") if p.is_file())) if root.is_dir() else MISSING
        installed = sorted({file.path for face in self.settings.fonts.faces for file in face.files if not file.path.is_relative_to(root)})
        return digest(own, *(f"{path}:{_stat(path)}" for path in installed))

    @cached_property
    def _catalogue_names(self) -> list[str]:
        from ..languages.catalogue import folder

        return sorted(p.name for p in folder(self.settings.layouts_dir).glob("*.yaml"))

    def catalogue(self, language: str | None) -> str:
        """The catalogue files a language's fixed text comes from, and which catalogues exist."""
        from ..languages.catalogue import catalogue_files

        if not language:
            return MISSING
        if language not in self._catalogues:
            files = catalogue_files(language, self.settings.layouts_dir)
            self._catalogues[language] = digest(*self._catalogue_names, *(self.file(path) for path in files if path))
        return self._catalogues[language]

    @cached_property
    def pronunciations(self) -> str:
        return self.file(self.settings.layouts_dir / "pronunciations.yaml")

    @cached_property
    def speech_engine(self) -> str:
        """Every speech engine's version and voice files (system packages, not among the Python
        engines below): a new release says words differently, and a voice installed or removed
        changes which voice reads a language."""
        from ..speech.voices import fingerprint

        return digest(fingerprint())

    @cached_property
    def braille_engine(self) -> str:
        """liblouis's version and its tables (a system package, like espeak-ng): a new release translates differently."""
        try:
            import louis
        except ImportError:
            return "absent"
        return digest(louis.version(), *(f"{p.name}:{_stat(p)}" for p in sorted(Path(TABLES).glob("*")) if p.is_file()))

    @cached_property
    def tool(self) -> str:
        """leafpress's own code, the Python version and the versions of the engines it drives."""
        code = self._files_hash(PACKAGE_DIR, sorted(PACKAGE_DIR.rglob("*.py")))
        versions = []
        for engine in ENGINES:
            try:
                versions.append(f"{engine}=={importlib.metadata.version(engine)}")
            except importlib.metadata.PackageNotFoundError:
                versions.append(f"{engine} absent")
        return digest(code, sys.version, *versions)

    def languages(self, source: Path) -> str:
        """The leaflet's other language versions (``<slug>.md``, ``<slug>.<lang>.md`` beside it), by
        name and content (a translation that stops or starts building changes the links to it); the
        folder is listed once per build, so a library of thousands is not listed thousands of times."""
        folder = source.parent.resolve()
        if folder not in self._sources:
            by_slug: dict[str, list[str]] = {}
            for path in folder.glob("*.md"):
                by_slug.setdefault(path.name.partition(".")[0], []).append(path.name)
            self._sources[folder] = {slug: sorted(names) for slug, names in by_slug.items()}
        others = [name for name in self._sources[folder].get(source.name.partition(".")[0], []) if name != source.name]
        return digest(*(part for name in others for part in (name, self.file(folder / name))))

    def images(self, source: Path, record: Mapping | None) -> str:
        """The images the source used when last built (the same source uses the same images)."""
        names = (record or {}).get("images") or []
        return digest(*(part for name in names for part in (name, self.file(source.parent / name))))

    def of(self, format_name: str, source: Path, record: Mapping | None, source_sha: str) -> dict[str, str]:
        """The hash of every input of one format of one leaflet."""
        shared = {
            "settings": lambda: self.settings_hash,
            "templates": lambda: self.templates,
            "fonts": lambda: self.fonts,
            "pronunciations": lambda: self.pronunciations,
            "speech_engine": lambda: self.speech_engine,
            "braille_engine": lambda: self.braille_engine,
            "tool": lambda: self.tool,
            "images": lambda: self.images(source, record),
            "catalogue": lambda: self.catalogue((record or {}).get("language")),
            "languages": lambda: self.languages(source),
        }
        hashes = {"source": source_sha}
        for name in FORMAT_INPUTS.get(format_name, ALL_INPUTS):
            hashes[name] = shared[name]()
        for name in _reads(format_name):
            hashes[f"{READ_PREFIX}{name}"] = files_made_by(record, name)
        return hashes


READ_PREFIX = "made-by:"  # an input that is the files of another format (the EPUB's audio)


def _reads(format_name: str) -> tuple[str, ...]:
    from ..renderers import RENDERERS

    renderer = RENDERERS.get(format_name)
    return renderer.reads if renderer else ()


def files_made_by(record: Mapping | None, format_name: str) -> str:
    """The files a format of a leaflet wrote as the build state records them (path, size, date)."""
    files = (((record or {}).get("formats") or {}).get(format_name) or {}).get("files")
    return digest(json.dumps(files, sort_keys=True)) if files else MISSING


def stale_formats(
    source: Path,
    record: Mapping | None,
    formats: Sequence[str],
    inputs: Inputs,
    out_dir: Path,
    force: bool = False,
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Which of ``formats`` need building, each with the reason, and every format's input hashes now."""
    source_sha = source_hash(source)
    hashes = {name: inputs.of(name, source, record, source_sha) for name in formats}
    built = (record or {}).get("formats") or {}
    reasons: dict[str, str] = {}
    for name in formats:
        previous = built.get(name)
        if force:
            reasons[name] = "--force"
        elif not previous:
            reasons[name] = "not built before"
        elif changed := next((key for key, value in hashes[name].items() if previous.get("inputs", {}).get(key) != value), None):
            reasons[name] = REASONS.get(changed) or _changed(changed)
        elif problem := _files_problem(out_dir, previous.get("files") or {}):
            reasons[name] = problem
    for name in formats:  # in build order: a format made from another's files is rebuilt after it
        if name not in reasons and (read := next((r for r in _reads(name) if r in reasons), None)):
            reasons[name] = f"its {read} is rebuilt"
    return reasons, hashes


def _changed(input_name: str) -> str:
    """Why a format is rebuilt, for an input REASONS doesn't word: ``its audio changed``."""
    if input_name.startswith(READ_PREFIX):
        return f"its {input_name.removeprefix(READ_PREFIX)} changed"
    return f"{input_name} changed"


def _files_problem(out_dir: Path, files: Mapping) -> str | None:
    """Why the files a format wrote can't be trusted any more, or None when they are as written."""
    if not files:
        return "its files are not recorded"
    for relative, size, mtime_ns in files.values():
        try:
            stat = os.stat(os.path.join(out_dir, relative))
        except OSError:
            return f"{relative} is missing"
        if stat.st_size != size or stat.st_mtime_ns != mtime_ns:
            return f"{relative} was changed after it was built"
    return None


def file_record(out_dir: Path, path: Path) -> list:
    """How a written output is remembered: its path in out_dir, size and modification time."""
    stat = path.stat()
    return [Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix(), stat.st_size, stat.st_mtime_ns]


class BuildState(MutableMapping):
    """The build record of every leaflet built into an output folder, by source path relative to it.

    The file holds one record a line (after a first line with the format's version), and a record
    is kept as its line of text until it is asked for, then parsed afresh: a library of thousands
    of leaflets costs the coordinator a few megabytes, not the tens its parsed records would."""

    def __init__(self, lines: dict[str, str] | None = None):
        self._lines = lines or {}  # key -> the record's JSON text
        self._records: dict[str, dict] = {}  # records set by this build

    def __getitem__(self, key: str) -> dict:
        if key in self._records:
            return self._records[key]
        try:
            record = json.loads(self._lines[key])
        except ValueError:  # a damaged line: that leaflet is rebuilt, as if it had no record
            raise KeyError(key) from None
        if not isinstance(record, dict):
            raise KeyError(key)
        return record

    def __setitem__(self, key: str, record: dict) -> None:
        self._lines.pop(key, None)
        self._records[key] = record

    def __delitem__(self, key: str) -> None:
        if self._lines.pop(key, None) is None and self._records.pop(key, None) is None:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        yield from self._lines
        yield from self._records

    def __len__(self) -> int:
        return len(self._lines) + len(self._records)

    def text(self) -> str:
        """The file's text: the version, then each record on its own line, by key."""
        lines = {key: json.dumps(record, ensure_ascii=False, separators=(",", ":")) for key, record in self._records.items()}
        lines.update(self._lines)
        header = json.dumps({"version": STATE_VERSION})
        return "".join([header, "\n", *(f"{json.dumps(key, ensure_ascii=False)}\t{lines[key]}\n" for key in sorted(lines))])


def load_state(out_dir: Path) -> BuildState:
    """The build state of out_dir; empty when there is none or it is unreadable (everything rebuilds)."""
    try:
        with (out_dir / STATE_NAME).open(encoding="utf-8") as file:
            if json.loads(file.readline()).get("version") != STATE_VERSION:
                return BuildState()
            lines = {}
            for line in file:
                key, tab, record = line.rstrip("\n").partition("\t")
                if tab:
                    lines[json.loads(key)] = record
    except (OSError, ValueError, AttributeError):
        return BuildState()
    return BuildState(lines)
