"""Brand and per-format settings, read from layouts/settings.yaml and checked like a source.

Options are grouped by the output they affect (``print.body_size``, ``audio.rate``), as
Sphinx prefixes each builder's options. Unknown keys, wrong types and colours that
fail WCAG AA contrast are refused with ``<file>:<line>: …``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem, key_lines
from .languages.fonts import Face, FontFile, FontOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAYOUTS_DIR = PROJECT_ROOT / "layouts"
FONTS_DIR = PROJECT_ROOT / "fonts"
SETTINGS_FILE = LAYOUTS_DIR / "settings.yaml"

MIN_CONTRAST = 4.5  # WCAG 2 AA, body text
SPEECH_ENGINES = ("rhvoice", "pico", "mbrola", "espeak")  # leafpress.speech's engines, as settings name them
COLOUR_RE = re.compile(r"#[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class PatientAdvice:
    name: str = "Patient Advice and Liaison Service (PALS)"
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Organisation:
    name: str
    logo: str = ""
    website: str = ""
    switchboard: str = ""
    patient_advice: PatientAdvice = field(default_factory=PatientAdvice)
    series: str = "Patient information leaflets"


@dataclass(frozen=True)
class Colours:
    brand: str = "#005A8C"
    text: str = "#1A1A1A"
    background: str = "#FFFFFF"
    callout_background: str = "#FFF4C2"
    callout_border: str = "#B37D00"


@dataclass(frozen=True)
class PageOptions:
    """The options shared by the print and large-print PDFs."""

    page_size: str = "A4"
    body_size: float = 12
    footer_size: float = 10
    line_height: float = 1.4


@dataclass(frozen=True)
class DocxOptions:
    font: str = "Arial"
    body_size: float = 12
    do_not_translate_style: str = "DoNotTranslate"  # the character style translation tools lock


@dataclass(frozen=True)
class AudioOptions:
    """The ``audio:`` settings; each pause is the whole silence, the engine's own end pause being trimmed."""

    rate: int = 155  # words a minute
    voice: str = ""  # an installed espeak-ng voice's id; empty chooses one from the leaflet's language
    voices: tuple[tuple[str, str], ...] = ()  # (language tag, "engine:voice"), from the audio.voices group
    sentence_pause_ms: int = 550
    item_pause_ms: int = 700  # after a list item or a table row
    section_pause_ms: int = 1200  # before and after a heading
    bitrate_kbps: int = 64


@dataclass(frozen=True)
class BrailleOptions:
    """The ``braille:`` settings: the page an embosser takes, and the table of English leaflets."""

    table: str = "en-ueb-g2.ctb"  # liblouis table(s) for English leaflets: UEB grade 2; en-ueb-g1.ctb for grade 1
    cells_per_line: int = 40
    lines_per_page: int = 25


@dataclass(frozen=True)
class ReviewOptions:
    overdue_fails: bool = False  # an overdue leaflet fails build and check, as --strict-reviews does


@dataclass(frozen=True)
class LibraryOptions:
    """The ``library:`` settings: where builds run. No output depends on them: changing them rebuilds nothing."""

    scheduler: str = ""  # a dask.distributed scheduler (tcp://host:8786) to build on; empty: this machine


@dataclass(frozen=True)
class WebOptions:
    """The ``web:`` settings: where the output folder is published, if it is."""

    base_url: str = ""  # https://leaflets.example.org: the PDFs then print each leaflet's web address and its QR code

    def page_url(self, slug: str, stem: str) -> str:
        """The address of a leaflet's web page once the output folder is published at ``base_url``."""
        return f"{self.base_url.rstrip('/')}/{slug}/{stem}.html"


@dataclass(frozen=True)
class Settings:
    organisation: Organisation
    colours: Colours = field(default_factory=Colours)
    print: PageOptions = field(default_factory=PageOptions)
    large_print: PageOptions = field(
        default_factory=lambda: PageOptions(body_size=18, footer_size=18, line_height=1.5)
    )
    docx: DocxOptions = field(default_factory=DocxOptions)
    audio: AudioOptions = field(default_factory=AudioOptions)
    braille: BrailleOptions = field(default_factory=BrailleOptions)
    reviews: ReviewOptions = field(default_factory=ReviewOptions)
    library: LibraryOptions = field(default_factory=LibraryOptions)
    web: WebOptions = field(default_factory=WebOptions)
    fonts: FontOptions = field(default_factory=FontOptions)
    layouts_dir: Path = LAYOUTS_DIR
    fonts_dir: Path = FONTS_DIR
    settings_file: Path = SETTINGS_FILE

    @property
    def logo_path(self) -> Path | None:
        return self.layouts_dir / self.organisation.logo if self.organisation.logo else None


def load_settings(path: Path = SETTINGS_FILE) -> Settings:
    """Read and check a settings file; raises InputError with file:line problems."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as err:
        raise InputError.at(path, 1, f"cannot read settings ({err}); restore layouts/settings.yaml") from None
    except yaml.YAMLError as err:
        raise InputError.from_yaml(path, err, text, 1, "settings are not valid YAML") from None
    data = data if isinstance(data, dict) else {}
    reader = _SettingsReader(path, key_lines(node))
    settings = reader.build(Settings, data, "")
    if "fonts" not in data and path.resolve() != SETTINGS_FILE:
        settings = dataclasses.replace(settings, fonts=load_settings(SETTINGS_FILE).fonts)  # the shipped fonts
    settings = dataclasses.replace(settings, layouts_dir=path.parent, settings_file=path)
    reader.check_brand(settings)
    if reader.problems:
        raise InputError(reader.problems)
    return settings


class _SettingsReader:
    def __init__(self, path: Path, lines: dict[str, int]):
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        line = self.lines.get(key) or self.lines.get(key.rpartition(".")[0], 1)
        self.problems.append(Problem(self.path, line, message))

    def build(self, cls: type, data: dict[str, Any], prefix: str) -> Any:
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in ("layouts_dir", "fonts_dir", "settings_file")}
        values: dict[str, Any] = {}
        for key, value in data.items():
            dotted = f"{prefix}{key}"
            if key not in fields:
                self.problem(dotted, f"unknown setting '{dotted}'; the settings here are {', '.join(fields)}")
                continue
            kind = fields[key].type
            nested = {"PatientAdvice": PatientAdvice, "Organisation": Organisation, "Colours": Colours,
                      "PageOptions": PageOptions, "DocxOptions": DocxOptions, "AudioOptions": AudioOptions, "BrailleOptions": BrailleOptions,
                      "ReviewOptions": ReviewOptions, "LibraryOptions": LibraryOptions, "WebOptions": WebOptions}.get(kind)
            if kind == "FontOptions":
                values[key] = self.fonts(value, dotted)
            elif dotted == "audio.voices":
                values[key] = self.voices(value, dotted)
            elif nested is not None:
                if not isinstance(value, dict):
                    self.problem(dotted, f"'{dotted}' must be a group of 'key: value' lines")
                    continue
                values[key] = self.build(nested, value, dotted + ".")
            elif kind == "bool":
                if not isinstance(value, bool):
                    self.problem(dotted, f"'{dotted}' must be true or false, not '{value}'")
                    continue
                values[key] = value
            elif kind == "str":
                values[key] = "" if value is None else str(value)
            elif kind in ("int", "float"):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    self.problem(dotted, f"'{dotted}' must be a positive number, not '{value}'")
                    continue
                values[key] = int(value) if kind == "int" else float(value)
        if cls is Settings and "organisation" not in values:
            self.problem("organisation", "settings need an 'organisation:' group with at least its name")
            values["organisation"] = Organisation(name="")
        if cls is Organisation and not values.get("name"):
            self.problem(prefix + "name", "the organisation needs a name: add 'name: …' under 'organisation:'")
        return cls(**values)

    def fonts(self, data: Any, prefix: str) -> FontOptions:
        """The ``fonts:`` group: faces (one file per weight), the faces of each script, line heights."""
        if not isinstance(data, dict):
            self.problem(prefix, f"'{prefix}' must be a group with faces:, scripts: and line_heights:")
            return FontOptions()
        for key in data:
            if key not in ("faces", "scripts", "line_heights"):
                self.problem(f"{prefix}.{key}", f"unknown setting '{prefix}.{key}'; the settings here are faces, scripts, line_heights")
        faces = []
        for family, files in self._group(data, f"{prefix}.faces").items():
            where = f"{prefix}.faces.{family}"
            if not isinstance(files, dict) or set(files) != {"regular", "bold"} or not all(isinstance(f, str) and f for f in files.values()):
                self.problem(where, f"face '{family}' needs two files, one per weight: 'regular: …' and 'bold: …'")
                continue
            faces.append(Face(str(family), self._font_file(files["regular"]), self._font_file(files["bold"]), self.lines.get(where, 0)))
        known = {face.family for face in faces}
        scripts = []
        for key, families in self._group(data, f"{prefix}.scripts").items():
            where = f"{prefix}.scripts.{key}"
            if not isinstance(families, list) or not families or not all(isinstance(f, str) for f in families):
                self.problem(where, f"'{where}' must list faces in order, like [Noto Sans Arabic, Noto Sans]")
                continue
            if unknown := [f for f in families if f not in known]:
                self.problem(where, f"'{where}' names {', '.join(unknown)}, which fonts.faces does not define; add it there or correct the name")
                continue
            scripts.append((str(key), tuple(families)))
        heights = []
        for key, height in self._group(data, f"{prefix}.line_heights").items():
            if isinstance(height, bool) or not isinstance(height, (int, float)) or height < 1:
                self.problem(f"{prefix}.line_heights.{key}", f"'{prefix}.line_heights.{key}' must be a number of at least 1, like 2.2")
                continue
            heights.append((str(key), float(height)))
        return FontOptions(tuple(faces), tuple(scripts), tuple(heights))

    def voices(self, data: Any, dotted: str) -> tuple[tuple[str, str], ...]:
        """``audio.voices``: a voice per language, ``en: rhvoice:alan`` (engine, then the engine's voice name)."""
        if data is None:
            return ()
        if not isinstance(data, dict):
            self.problem(dotted, f"'{dotted}' must be a group of 'language: engine:voice' lines, like 'en: rhvoice:alan'")
            return ()
        chosen = []
        for language, key in data.items():
            engine, _, name = str(key).partition(":")
            if engine not in SPEECH_ENGINES or not name:
                self.problem(f"{dotted}.{language}", f"'{dotted}.{language}: {key}' must name an engine and its voice, like "
                             f"rhvoice:alan; the engines are {', '.join(SPEECH_ENGINES)}")
                continue
            chosen.append((str(language), f"{engine}:{name}"))
        return tuple(chosen)

    def _group(self, data: dict, dotted: str) -> dict:
        value = data.get(dotted.rpartition(".")[2]) or {}
        if not isinstance(value, dict):
            self.problem(dotted, f"'{dotted}' must be a group of 'name: value' lines")
            return {}
        return value

    def _font_file(self, text: str) -> FontFile:
        """``name.ttf`` (in fonts/), an absolute path, or ``collection.ttc#N`` for its face N."""
        name, _, index = text.partition("#")
        path = Path(name) if Path(name).is_absolute() else FONTS_DIR / name
        return FontFile(path, int(index) if index.isdigit() else 0)

    def check_brand(self, settings: Settings) -> None:
        for name in (f.name for f in dataclasses.fields(Colours)):
            value = getattr(settings.colours, name)
            if not COLOUR_RE.fullmatch(value):
                self.problem(f"colours.{name}", f"colour '{value}' is not #RRGGBB; write it like \"#005A8C\" (in quotes)")
        if any(p.message.startswith("colour") for p in self.problems):
            return
        c = settings.colours
        for fg, bg in (("text", "background"), ("brand", "background"), ("text", "callout_background"), ("brand", "callout_background")):
            ratio = contrast_ratio(getattr(c, fg), getattr(c, bg))
            if ratio < MIN_CONTRAST:
                self.problem(
                    f"colours.{fg}",
                    f"colours.{fg} {getattr(c, fg)} on colours.{bg} {getattr(c, bg)} has contrast {ratio:.2f}:1, "
                    f"under the WCAG AA minimum of {MIN_CONTRAST}:1; choose a darker or lighter colour",
                )
        for name, options in (("print", settings.print), ("large_print", settings.large_print)):
            if options.page_size not in ("A4", "A5"):
                self.problem(f"{name}.page_size", f"{name}.page_size must be A4 or A5, not '{options.page_size}'")
            if options.line_height < 1:
                self.problem(f"{name}.line_height", f"{name}.line_height must be at least 1")
        lp = settings.large_print
        if lp.page_size != "A4":
            self.problem("large_print.page_size", "large print must be A4 (never an enlarged A5); set large_print.page_size: A4")
        for key in ("body_size", "footer_size"):
            if getattr(lp, key) < 16:
                self.problem(f"large_print.{key}", f"large_print.{key} must be at least 16 pt (RNIB Clear Print); 18 is recommended")
        if lp.line_height < 1.5:
            self.problem("large_print.line_height", "large_print.line_height must be at least 1.5 (RNIB Clear Print)")
        braille = settings.braille
        if braille.cells_per_line < 20 or braille.lines_per_page < 5:
            self.problem("braille.cells_per_line" if braille.cells_per_line < 20 else "braille.lines_per_page",
                         "a braille page needs at least 20 cells a line and 5 lines (embossers take 40 by 25 or so)")
        if settings.print.body_size < 12:
            self.problem("print.body_size", "print.body_size must be at least 12 pt (RNIB Clear Print)")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", settings.docx.do_not_translate_style):
            self.problem("docx.do_not_translate_style", "docx.do_not_translate_style must be one word of letters, digits and '_', "
                         "as translation tools match it exactly: DoNotTranslate, tw4winInternal or NOTRANSLATE")
        if settings.web.base_url and not _is_web_address(settings.web.base_url):
            self.problem("web.base_url", f"web.base_url '{settings.web.base_url}' must be the http:// or https:// address the output "
                         "folder is published at, with no spaces, '?' or '#', like https://leaflets.example.org; or empty")
        if settings.organisation.logo and not (settings.layouts_dir / settings.organisation.logo).is_file():
            self.problem("organisation.logo", f"logo '{settings.organisation.logo}' not found in {settings.layouts_dir}")


def _is_web_address(text: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(parts.hostname)
            and "?" not in text and "#" not in text and not any(char.isspace() for char in text))


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two #RRGGBB colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
