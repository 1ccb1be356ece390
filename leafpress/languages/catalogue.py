"""Each language's fixed text: one catalogue file per language in layouts/languages/.

English (``en.yaml``) is the reference: every catalogue has its keys, and a key a catalogue
lacks falls back to English. Placeholders (``Page {page} of {pages}``) let each language
put the values where its word order needs them; texts that depend on a number give one
line per CLDR plural category. Review dates are written with the language's month names
(Babel). Renderers ask the catalogue for every label and never spell one themselves.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, Problem, key_lines
from ..model import Meta, ReviewDate
from .tags import babel_locale, language_info

FOLDER = "languages"
REFERENCE = "en"
PLURAL_KEYS = ("audio.duration", "audio.sections")
PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
STAMP_SEPARATOR = " · "
# libyaml's safe loader where PyYAML has it: reading every catalogue (for the brief) took 0.2 s in pure Python.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Catalogue:
    """The fixed text for leaflets in ``language``, read from ``path``."""

    language: str  # the leaflet's tag: dates and plural rules follow it
    path: Path
    entries: Mapping[str, Any]  # dotted key -> text, or plural category -> text
    found: bool = True  # False: the language has no catalogue and English stands in
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    @property
    def reviewed(self) -> bool:
        return bool(self.entries.get("reviewed_by_native_speaker"))

    @property
    def name(self) -> str:
        return str(self.entries.get("name", self.language))

    @property
    def locale_tag(self) -> str:
        """Whose month names and plural rules the text follows: English's where English stands in."""
        return self.language if self.found else REFERENCE

    def braille_table(self, english: str) -> str:
        """The liblouis table list of the language's braille: ``english`` (the settings' braille.table) for
        English, else the catalogue's own; empty while no braille reader of the language has checked one."""
        if language_info(self.language).english and english:
            return english
        return str(self.entries.get("braille.table", "")) if self.found else ""

    def template(self, key: str) -> str:
        """The text of ``key`` with its placeholders left in, for the caller to fill."""
        return self.entries[key]

    def text(self, key: str, **values: object) -> str:
        """The text of ``key`` with its placeholders filled in."""
        return _fill(self.entries[key], values)

    def plural(self, key: str, count: int, **values: object) -> str:
        """The text of ``key`` in the plural form the language uses for ``count``."""
        forms = self.entries[key]
        category = babel_locale(self.locale_tag).plural_form(count)
        return _fill(forms.get(category, forms["other"]), {"count": count, **values})

    def month_year(self, date: ReviewDate) -> str:
        """A review date as the language writes a month and year: "June 2022", "czerwiec 2022", "2022年6月"."""
        return _month_year(date.first_day, self.locale_tag)

    def stamp_parts(self, meta: Meta, unbreakable: bool = False) -> tuple[str, str, str]:
        """The stamp's three parts; ``unbreakable`` keeps each date on one line (no-break spaces)."""
        def date(value: ReviewDate) -> str:
            text = self.month_year(value)
            return text.replace(" ", "\u00a0") if unbreakable else text

        return (
            self.text("print.resource_number", resource_number=meta.resource_number),
            self.text("print.last_reviewed", date=date(meta.last_reviewed)),
            self.text("print.next_review", date=date(meta.next_review)),
        )

    def stamp(self, meta: Meta) -> str:
        """The line every output carries, so a handout can be traced and its review checked."""
        return STAMP_SEPARATOR.join(self.stamp_parts(meta))

    def listing(self, names: list[str]) -> str:
        """A, B and C, in the language's own way."""
        if len(names) == 1:
            return names[0]
        return self.text("audio.listing", items=self.text("audio.list_separator").join(names[:-1]), last=names[-1])

    def values(self, prefix: str = "") -> Iterator[str]:
        """Every text of the catalogue under ``prefix`` (plural forms included)."""
        for key, value in self.entries.items():
            if key.startswith(prefix):
                yield from value.values() if isinstance(value, dict) else [value] if isinstance(value, str) else []


def _fill(template: str, values: Mapping[str, object]) -> str:
    return template.format_map(values)


SHIPPED = Path(__file__).resolve().parents[2] / "layouts" / FOLDER


def folder(layouts_dir: Path) -> Path:
    """The catalogues of a layouts folder; the shipped ones if it has none of its own."""
    own = layouts_dir / FOLDER
    return own if own.is_dir() else SHIPPED


def catalogue_for(language: str, layouts_dir: Path) -> Catalogue:
    """The catalogue of a leaflet's language: the file for its exact tag, else one for the same
    language in the same script (``pt-PT`` takes ``pt``, ``zh-HK`` takes ``zh-Hant``, but ``pa-Arab``
    never takes Gurmukhi ``pa``); English, with ``found`` False, when there is none."""
    return _catalogue_for(language, _resolved(layouts_dir))


@cache  # the catalogues are read once a process (_catalogue_for), so is where they are
def _resolved(layouts_dir: Path) -> Path:
    return layouts_dir.resolve()


@lru_cache(maxsize=4096)  # every output of a leaflet shows its two review dates, and a library has few distinct months
def _month_year(first_day: dt.date, locale_tag: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", first_day, locale=babel_locale(locale_tag))


def catalogue_files(language: str, layouts_dir: Path) -> tuple[Path, Path | None]:
    """The reference catalogue and the language's own (None if it has none), without reading them."""
    files = {path.stem.lower(): path for path in sorted(folder(layouts_dir).glob("*.yaml"))}
    reference = files.get(REFERENCE) or folder(layouts_dir) / f"{REFERENCE}.yaml"
    own = files.get(language.lower()) or _same_script(language.lower(), files)
    return reference, None if own == reference else own


def has_catalogue(language: str, layouts_dir: Path) -> bool:
    """Whether a language's fixed text is its own: English is the reference; another needs a catalogue."""
    return language_info(language).language == REFERENCE or catalogue_files(language, layouts_dir)[1] is not None


@cache
def _catalogue_for(language: str, layouts_dir: Path) -> Catalogue:
    reference_path, path = catalogue_files(language, layouts_dir)
    reference = load(reference_path)
    if path is None:
        return Catalogue(language, reference.path, reference.entries, found=has_catalogue(language, layouts_dir), lines=reference.lines)
    own = load(path)
    return Catalogue(language, path, {**reference.entries, **own.entries}, lines=own.lines)


def _same_script(language: str, files: Mapping[str, Path]) -> Path | None:
    wanted = language_info(language)
    matches = []
    for stem, path in files.items():
        if stem.split("-")[0] != wanted.language:
            continue
        other = language_info(stem)
        if (other.language, other.script) == (wanted.language, wanted.script):
            matches.append((other.territory == wanted.territory, -len(stem), path))
    return max(matches)[2] if matches else None


@cache
def load(path: Path) -> Catalogue:
    """One catalogue file, flattened to dotted keys; InputError with file:line if it can't be read."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=YAML_LOADER)
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 (a safe loader)
    except OSError as err:
        raise InputError.at(path, 1, f"cannot read the fixed-text catalogue ({err.strerror}); restore it from layouts/languages/") from None
    except yaml.YAMLError as err:
        raise InputError.from_yaml(path, err, text, 1, "the fixed-text catalogue is not valid YAML") from None
    if not isinstance(data, dict):
        raise InputError.at(path, 1, "the fixed-text catalogue must be 'key: text' lines, as in en.yaml")
    lines = key_lines(node)
    problems: list[Problem] = []
    entries: dict[str, Any] = {}
    for key, value in _flatten(data):
        if key in PLURAL_KEYS:
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()) and "other" in value:
                entries[key] = {str(k): v for k, v in value.items()}
            else:
                problems.append(Problem(path, lines.get(key, 1), f"'{key}' needs one line per plural category, 'other' among them "
                                        "(one: …, other: …)"))
        elif key.startswith(PLURAL_KEYS):
            continue
        elif isinstance(value, (str, bool)) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            entries[key] = value
        elif value is None:
            entries[key] = ""
        else:
            problems.append(Problem(path, lines.get(key, 1), f"'{key}' must be text"))
    if problems:
        raise InputError(problems)
    return Catalogue(path.stem, path, entries, lines=lines)


def _flatten(data: Mapping, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in PLURAL_KEYS:
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


@cache
def unreviewed_languages(layouts_dir: Path) -> tuple[str, ...]:
    """"Polski (pl)", … for every catalogue no native speaker has checked yet."""
    found = []
    for path in sorted(folder(layouts_dir).glob("*.yaml")):
        try:
            catalogue = load(path)
        except InputError:
            continue
        if not catalogue.reviewed:
            found.append(f"{catalogue.name} ({path.stem})")
    return tuple(found)


# -- checking every catalogue against the reference ---------------------------------------


def check_catalogues(layouts_dir: Path) -> list[Problem]:
    """Every catalogue's problems: keys it lacks or doesn't know, placeholders that differ from
    English, plural categories its language needs and it lacks."""
    problems: list[Problem] = []
    paths = sorted(folder(layouts_dir).glob("*.yaml"))
    try:
        reference = load(folder(layouts_dir) / f"{REFERENCE}.yaml")
    except InputError as err:
        return err.problems
    for path in paths:
        if path.stem.lower() == REFERENCE:
            continue
        try:
            catalogue = load(path)
        except InputError as err:
            problems.extend(err.problems)
            continue
        problems.extend(_compare(catalogue, reference))
    return problems


def _compare(catalogue: Catalogue, reference: Catalogue) -> Iterator[Problem]:
    path, own, lines = catalogue.path, catalogue.entries, catalogue.lines
    missing = [key for key in reference.entries if key not in own]
    if missing:
        yield Problem(path, 1, f"the catalogue lacks {len(missing)} of the keys of {REFERENCE}.yaml ({', '.join(missing)}); "
                      "copy them from en.yaml and translate them (until then English is used for them)")
    for key in own:
        if key not in reference.entries:
            yield Problem(path, lines.get(key, 1), f"'{key}' is not a key of {REFERENCE}.yaml; delete it or correct its name")
        elif isinstance(reference.entries[key], str) and isinstance(own[key], str):
            yield from _compare_placeholders(path, lines.get(key, 1), key, reference.entries[key], own[key])
    locale = babel_locale(path.stem)
    needed = set(locale.plural_form.tags) | {"other"}
    for key in PLURAL_KEYS:
        forms = own.get(key)
        if not isinstance(forms, dict):
            continue
        if lacking := [c for c in PLURAL_CATEGORIES if c in needed and c not in forms]:
            yield Problem(path, lines.get(key, 1), f"'{key}' lacks the plural form{'s' if len(lacking) > 1 else ''} "
                          f"{', '.join(lacking)} that {catalogue.name} uses; add a line for each")
        if unknown := [c for c in forms if c not in needed]:
            yield Problem(path, lines.get(key, 1), f"'{key}' has plural forms {', '.join(unknown)} that {catalogue.name} does not use; "
                          f"its forms are {', '.join(c for c in PLURAL_CATEGORIES if c in needed)}")
        for category, text in forms.items():
            yield from _compare_placeholders(path, lines.get(key, 1), f"{key}.{category}", reference.entries[key]["other"], text)


def _compare_placeholders(path: Path, line: int, key: str, english: str, text: str) -> Iterator[Problem]:
    try:
        wanted, got = _placeholders(english), _placeholders(text)
    except ValueError as err:
        yield Problem(path, line, f"'{key}' has a broken placeholder ({err}); write placeholders as {{name}}, and braces as {{{{ }}}}")
        return
    if wanted != got:
        yield Problem(path, line, f"'{key}' must use the placeholders {_names(wanted)}, as en.yaml does, not {_names(got)}")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _names(names: set[str]) -> str:
    return ", ".join(f"{{{n}}}" for n in sorted(names)) or "none"
