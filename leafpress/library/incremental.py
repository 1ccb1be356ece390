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
import stat
import sys
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, NamedTuple

import orjson

from ..files import SETTLE_NS, write_atomically  # a source changed within SETTLE_NS: its stat is not recorded, the next build reads it again
from ..model import checksum
from ..settings import LibraryOptions, Settings

STATE_NAME = "build-state.jsonl"
OLD_STATE_NAME = "build-state.json"  # leafpress before the state held a record a line
STATE_VERSION = 3  # 3: records appended, the last of a source counting; sources' stats
READABLE_VERSIONS = (2, 3)  # 2: a record a line, by source
READ_AHEAD = 65536  # bytes of the build state read at a time
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


class SourceKeys:
    """state_key and the source's stat (source_stat) for many sources, one system call a file: a
    folder is resolved once, and a file that is no symbolic link needs no resolving of its own."""

    def __init__(self, root: Path):
        self.root = os.fspath(root)
        self._folders: dict[str, str] = {}  # folder as given -> its path from root, and "/"

    def __call__(self, source: Path) -> tuple[str, list[int] | None]:
        """The source's key and stat (None when it is not there, or no file)."""
        path = os.fspath(source)
        try:
            found = os.lstat(path)
            if stat.S_ISLNK(found.st_mode):
                found = os.stat(path)
                return state_key(source, Path(self.root)), source_stat(found) if stat.S_ISREG(found.st_mode) else None
        except OSError:
            return state_key(source, Path(self.root)), None
        if not stat.S_ISREG(found.st_mode):
            return state_key(source, Path(self.root)), None
        folder, name = os.path.split(path)
        if (prefix := self._folders.get(folder)) is None:
            relative = os.path.relpath(os.path.realpath(folder or "."), self.root)
            prefix = self._folders[folder] = "" if relative == "." else f"{relative}/"
        return prefix + name, source_stat(found)


def source_stat(found: os.stat_result) -> list[int]:
    """What the build state records of a source's stat: size, modification and change times, inode."""
    return [found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino]


def changed_since(found: list[int], time_ns: int) -> bool:
    """Whether a source's stat (source_stat) says it changed at ``time_ns`` or later."""
    return max(found[1], found[2]) >= time_ns


def source_hash(path: Path, record: Mapping | None, found: list[int] | None, settled_before: int = 0) -> tuple[str, list[int] | None]:
    """The checksum the reader records as ``Leaflet.checksum`` (``missing`` when the file can't be
    read), and the stat worth recording beside it (None when there is none).

    The file is read only when its stat (``found``, from source_stat) differs from the one its
    ``record`` holds. A stat is worth recording when the file last changed before ``settled_before``
    (nanoseconds since the epoch, before the stat was taken): any later change moves its change time."""
    if found is None:
        return MISSING, None
    if record and record.get("source_stat") == found and isinstance(sha := record.get("sha256"), str):
        return sha, found
    try:
        with open(path, "rb") as file:
            sha = checksum(file.read())
    except OSError:
        return MISSING, None
    return sha, (None if changed_since(found, settled_before) else found)


def read_source(path: Path) -> tuple[bytes, list[int] | None]:
    """A source's bytes, and its stat as source_hash would record it: taken as it is read, None
    unless the file had settled."""
    settled = settled_before()
    with open(path, "rb") as file:
        found = os.fstat(file.fileno())
        raw = file.read()
    now = source_stat(found)
    return raw, now if stat.S_ISREG(found.st_mode) and not changed_since(now, settled) else None


def settled_before() -> int:
    """For source_hash: a file changed before this time, taken now, is settled."""
    return time.time_ns() - SETTLE_NS


class Inputs:
    """The hashes of what leaflets are made from, each file read at most once per build."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._files: dict[Path, str] = {}
        self._catalogues: dict[str, str] = {}  # language -> hash of its catalogue files
        self._formats: dict[str, dict[str, str]] = {}  # format -> its inputs shared by every leaflet (Inputs._shared)
        self._reads: dict[str, tuple[str, ...]] = {}
        self._sources: dict[Path, dict[str, tuple[str, ...]]] = {}  # folder -> slug -> the names of its sources there

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
        if not language:
            return MISSING
        if language not in self._catalogues:
            from ..languages.catalogue import catalogue_files

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
        from ..reader import sources_by_slug

        folder = source.parent.resolve()
        if folder not in self._sources:
            self._sources[folder] = sources_by_slug(folder)
        others = [name for name in self._sources[folder].get(source.name.partition(".")[0], ()) if name != source.name]
        return digest(*(part for name in others for part in (name, self.file(folder / name))))

    def images(self, source: Path, record: Mapping | None) -> str:
        """The images the source used when last built (the same source uses the same images)."""
        names = (record or {}).get("images") or []
        return digest(*(part for name in names for part in (name, self.file(source.parent / name)))) if names else NO_IMAGES

    def of(self, format_name: str, source: Path, record: Mapping | None, source_sha: str) -> dict[str, str]:
        """The hash of every input of one format of one leaflet."""
        hashes = dict(self._shared(format_name), source=source_sha)  # the inputs in the order they are named (the first changed is the reason)
        if "images" in hashes:
            hashes["images"] = self.images(source, record)
        if "catalogue" in hashes:
            hashes["catalogue"] = self.catalogue((record or {}).get("language"))
        if "languages" in hashes:
            hashes["languages"] = self.languages(source)
        for name in self.reads(format_name):
            hashes[f"{READ_PREFIX}{name}"] = files_made_by(record, name)
        return hashes

    def _shared(self, format_name: str) -> dict[str, str]:
        """The hashes of a format's inputs that are the same for every leaflet, with a place kept
        (in order) for the source, images, catalogue and languages: worked out once per build."""
        if format_name not in self._formats:
            shared = {
                "settings": lambda: self.settings_hash,
                "templates": lambda: self.templates,
                "fonts": lambda: self.fonts,
                "pronunciations": lambda: self.pronunciations,
                "speech_engine": lambda: self.speech_engine,
                "braille_engine": lambda: self.braille_engine,
                "tool": lambda: self.tool,
            }
            hashes = {"source": ""}
            for name in FORMAT_INPUTS.get(format_name, ALL_INPUTS):
                hashes[name] = shared[name]() if name in shared else ""  # images, catalogue, languages: the leaflet's own
            self._formats[format_name] = hashes
        return self._formats[format_name]

    def reads(self, format_name: str) -> tuple[str, ...]:
        """The formats whose files ``format_name`` is made from (Renderer.reads)."""
        if format_name not in self._reads:
            from ..renderers import RENDERERS

            renderer = RENDERERS.get(format_name)
            self._reads[format_name] = renderer.reads if renderer else ()
        return self._reads[format_name]


READ_PREFIX = "made-by:"  # an input that is the files of another format (the EPUB's audio)
NO_IMAGES = digest()


def files_made_by(record: Mapping | None, format_name: str) -> str:
    """The files a format of a leaflet wrote as the build state records them (path, size, date)."""
    files = (((record or {}).get("formats") or {}).get(format_name) or {}).get("files")
    return digest(json.dumps(files, sort_keys=True)) if files else MISSING


class Stale(NamedTuple):
    reasons: dict[str, str]  # format -> why it needs building; empty when every format is up to date
    hashes: dict[str, dict[str, str]]  # format -> the hash of each of its inputs now
    source_stat: list[int] | None  # what source_hash says to record of the source's stat


def stale_formats(
    source: Path,
    record: Mapping | None,
    formats: Sequence[str],
    inputs: Inputs,
    outputs: OutputFolder,
    force: bool,
    hashed: tuple[str, list[int] | None],
) -> Stale:
    """Which of ``formats`` need building, each with the reason, and every format's input hashes
    now; ``hashed``: the source's checksum and stat from source_hash."""
    record = record or {}
    source_sha, stat_now = hashed
    hashes = {name: inputs.of(name, source, record, source_sha) for name in formats}
    built = record.get("formats") or {}
    reasons: dict[str, str] = {}
    for name in formats:
        previous = built.get(name)
        if force:
            reasons[name] = "--force"
        elif not previous:
            reasons[name] = "not built before"
        elif ((before := previous.get("inputs", {})) != hashes[name]
              and (changed := next((key for key, value in hashes[name].items() if before.get(key) != value), None))):
            reasons[name] = REASONS.get(changed) or _changed(changed)
        elif problem := outputs.problem(previous.get("files") or {}):
            reasons[name] = problem
    for name in formats:  # in build order: a format made from another's files is rebuilt after it
        if name not in reasons and (read := next((r for r in inputs.reads(name) if r in reasons), None)):
            reasons[name] = f"its {read} is rebuilt"
    return Stale(reasons, hashes, stat_now)


def _changed(input_name: str) -> str:
    """Why a format is rebuilt, for an input REASONS doesn't word: ``its audio changed``."""
    if input_name.startswith(READ_PREFIX):
        return f"its {input_name.removeprefix(READ_PREFIX)} changed"
    return f"{input_name} changed"


class OutputFolder:
    """An output folder held open while its files are checked: each is looked up from it, not
    from the root of the file system (tens of thousands of files in a large library)."""

    def __init__(self, out_dir: Path):
        self._fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        os.close(self._fd)

    def is_file(self, relative: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(relative, dir_fd=self._fd).st_mode)
        except (OSError, ValueError):
            return False

    def problem(self, files: Mapping, stat_at=os.stat) -> str | None:
        """Why the files a format wrote can't be trusted any more, or None when they are as written."""
        if not files:
            return "its files are not recorded"
        for relative, size, mtime_ns in files.values():
            try:
                found = stat_at(relative, dir_fd=self._fd)
            except OSError:
                return f"{relative} is missing"
            if found.st_size != size or found.st_mtime_ns != mtime_ns:
                return f"{relative} was changed after it was built"
        return None


def file_record(out_dir: Path, path: Path) -> list:
    """How a written output is remembered: its path in out_dir, size and modification time."""
    stat = path.stat()
    return [Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix(), stat.st_size, stat.st_mtime_ns]


class BuildState(MutableMapping):
    """The build record of every leaflet built into an output folder, by source path relative to it.

    The file holds one record a line, after a first line with the format's version: a source's
    path as a JSON string, a tab, and its record as JSON, or nothing once it is removed; the last
    line of a source counts. A build appends the lines of what it changed, and writes the file anew,
    by source, when over half its lines are out of date. The file is held open and a record read
    from it when asked for, then parsed afresh: the coordinator of a library of thousands keeps
    where each record is, not the records. Close it when done (or use it in a with statement)."""

    def __init__(self, path: Path | None = None):
        self._file: BinaryIO | None = None  # the file as last read or written, held open
        self._where: dict[str, tuple[int, int]] = {}  # key -> offset and length of its record in _file
        self._changed: dict[str, bytes] = {}  # key -> its record's JSON since the file was written (b"" once removed)
        self._lines_in_file: int | None = None  # record lines in _file; None: not a file to append to
        self._ahead_at, self._ahead = 0, b""  # the part of _file last read
        if path is not None:
            self._read(path)

    def _read(self, path: Path) -> None:
        """Where each record is in the file at ``path``; nothing of a file unreadable or of an unknown version."""
        self.close()
        self._where, self._lines_in_file, self._ahead_at, self._ahead = {}, None, 0, b""
        try:
            file = path.open("rb")
        except OSError:
            return
        try:
            header = file.readline()
            version = orjson.loads(header).get("version")
            if version not in READABLE_VERSIONS:
                raise ValueError(version)
            where, offset, count, whole = {}, len(header), 0, True
            for line in file:
                key, tab, record = line.rstrip(b"\n").partition(b"\t")
                whole, count = line.endswith(b"\n"), count + 1
                if tab and record:
                    where[orjson.loads(key)] = (offset + len(key) + 1, len(record))
                elif tab:
                    where.pop(orjson.loads(key), None)
                offset += len(line)
        except (OSError, ValueError, AttributeError, TypeError):
            file.close()
            return
        self._file, self._where = file, where
        # Appended to only when this version wrote it, its last line whole: else written anew.
        self._lines_in_file = count if version == STATE_VERSION and whole else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> BuildState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _json(self, key: str) -> bytes:
        line = self._changed.get(key)
        if line is None:
            offset, length = self._where[key]
            start = offset - self._ahead_at
            if start < 0 or start + length > len(self._ahead):  # records are mostly asked for in the file's order: read ahead
                self._ahead_at, self._ahead, start = offset, os.pread(self._file.fileno(), max(length, READ_AHEAD), offset), 0
            return self._ahead[start:start + length]
        if not line:
            raise KeyError(key)
        return line

    def __getitem__(self, key: str) -> dict:
        try:
            record = orjson.loads(self._json(key))
        except orjson.JSONDecodeError:  # a damaged line: that leaflet is rebuilt, as if it had no record
            raise KeyError(key) from None
        if not isinstance(record, dict):
            raise KeyError(key)
        return record

    def __setitem__(self, key: str, record: dict) -> None:
        self._changed[key] = orjson.dumps(record)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._changed[key] = b""

    def __contains__(self, key: object) -> bool:
        return bool(self._changed[key]) if key in self._changed else key in self._where

    def __iter__(self) -> Iterator[str]:
        yield from (key for key in self._where if key not in self._changed)
        yield from (key for key, line in self._changed.items() if line)

    def __len__(self) -> int:
        return sum(1 for _key in self)

    def data(self) -> bytes:
        """The whole file's bytes: the version, then each record on its own line, by key."""
        read = os.pread(self._file.fileno(), os.fstat(self._file.fileno()).st_size, 0) if self._file else b""
        lines = {key: read[offset:offset + length] for key, (offset, length) in self._where.items()}
        lines.update(self._changed)
        header = json.dumps({"version": STATE_VERSION}).encode()
        return b"".join([header, b"\n", *(b"%b\t%b\n" % (orjson.dumps(key), lines[key]) for key in sorted(lines) if lines[key])])

    def save(self, path: Path) -> None:
        """Write what changed since the state was read or last saved to ``path``, where it was read from."""
        live = len(self)
        if self._lines_in_file is None or self._lines_in_file + len(self._changed) > 2 * live + 64 or not self._append(path):
            write_atomically(path, self.data())
            self._changed.clear()
            self._read(path)

    def _append(self, path: Path) -> bool:
        """Append a line for each record changed to the file; False if it is gone (not "ab": it would lack its version)."""
        try:
            with path.open("r+b") as file:
                offset = file.seek(0, os.SEEK_END)
                lines, where = [], {}
                for key, record in self._changed.items():
                    lines.append(b"%b\t%b\n" % (orjson.dumps(key), record))
                    offset += len(lines[-1])
                    where[key] = (offset - len(record) - 1, len(record))
                file.write(b"".join(lines))
        except FileNotFoundError:
            return False
        for key, (offset, length) in where.items():
            if length:
                self._where[key] = (offset, length)
            else:
                self._where.pop(key, None)
        self._lines_in_file = (self._lines_in_file or 0) + len(self._changed)
        self._changed.clear()
        return True


def state_written(out_dir: Path) -> int | None:
    """When the build state of out_dir was last written (ns since the epoch), or None if it is not there."""
    try:
        return os.stat(out_dir / STATE_NAME).st_mtime_ns
    except OSError:
        return None


def load_state(out_dir: Path) -> BuildState:
    """The build state of out_dir; empty when there is none or it is unreadable (everything rebuilds)."""
    return BuildState(out_dir / STATE_NAME)
