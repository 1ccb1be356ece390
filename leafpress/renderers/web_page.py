"""The leaflet's web page: one standalone HTML page per leaflet and language, made for WCAG 2.2 AA.

Made from the model through layouts/web-page.html.j2 and its stylesheet web-page.css.j2, branded
like the PDFs and set in the same fonts. It runs no script and loads nothing from the network: the
fonts and the logo are copied once into ``output/_assets/``, shared by every page, and its pictures
are inside it. It links the leaflet's other files and languages, and plays the audio with the
browser's own controls, each of its chapters (read from the MP3) a link to where it starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import quote

from ..errors import InputError
from ..files import write_atomically
from ..languages.catalogue import Catalogue, catalogue_for, has_catalogue
from ..languages.fonts import Face, FontFile, FontPlan, plan_fonts
from ..languages.tags import language_info
from ..model import Leaflet
from ..settings import Settings
from ..templates import environment
from .base import Renderer
from .typefaces import printable_fonts

ASSETS = "_assets"  # in the output folder, shared by every page; no leaflet's slug starts with "_" (reader.SLUG_RE)
# The files of the leaflet's other formats the page links, in its order, by manifest key. The page is
# made after them: the audio and the EPUB made from it are linked when they are there.
LINKED_FILES = ("print", "large_print", "epub", "audio", "braille", "docx")
MADE_WITH_THE_AUDIO = ("audio", "epub")
MIN_LINE_HEIGHT = 1.5  # WCAG 1.4.12 asks that text take 1.5; scripts that need more get their own (fonts.line_heights)


@dataclass(frozen=True)
class Chapter:
    """One chapter of the recording, as its MP3's CHAP frame gives it."""

    title: str
    start_ms: int

    @property
    def seconds(self) -> str:
        """Where it starts, for a media fragment (``#t=83.4``)."""
        return f"{self.start_ms // 100 / 10:g}"

    @property
    def clock(self) -> str:
        """Where it starts, as a player shows it: ``1:23``, ``1:02:03``."""
        minutes, seconds = divmod(self.start_ms // 1000, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @property
    def duration(self) -> str:
        """Where it starts, as an HTML ``<time>`` duration: ``PT1M23S``."""
        return f"PT{self.start_ms // 1000}S"


def recording_chapters(path: Path) -> tuple[Chapter, ...]:
    """The chapters of an MP3 the audio renderer wrote, in order; none if it has no tags."""
    from .audio import read_recording_tags

    return tuple(Chapter(title, start) for title, start, _end in read_recording_tags(path).chapters)


@dataclass(frozen=True)
class OtherLanguage:
    tag: str
    name: str  # the language's name for itself
    href: str
    direction: str


def other_languages(leaflet: Leaflet, layouts_dir: Path) -> list[OtherLanguage]:
    """The leaflet's other language versions, each a source beside its own (``<slug>.md``,
    ``<slug>.<lang>.md``) whose front matter reads without error (its text is not parsed: a page
    of six languages would parse five other leaflets): the original first, then by tag."""
    from ..reader import read_meta, slug_and_language, sources_by_slug

    found = []
    folder = leaflet.source.parent
    for name in sources_by_slug(folder).get(leaflet.slug, ()):
        if name == leaflet.source.name:
            continue
        path = folder / name
        try:
            if slug_and_language(path)[0] != leaflet.slug:
                continue
            language = read_meta(path).language
        except (InputError, OSError):
            continue  # a translation that does not build has no page to link to
        primary = path.name == f"{leaflet.slug}.md"
        stem = leaflet.slug if primary else f"{leaflet.slug}.{language}"
        found.append((not primary, language, OtherLanguage(language, autonym(language, layouts_dir), quote(f"{stem}.html"),
                                                           language_info(language).direction)))
    return [language for *_, language in sorted(found, key=lambda item: item[:2])]


@cache  # the catalogues and Babel's data do not change while a build runs
def autonym(language: str, layouts_dir: Path) -> str:
    """A language's name for itself: its catalogue's ``name``, else Babel's (CLDR), else its tag."""
    from babel import Locale, UnknownLocaleError

    if has_catalogue(language, layouts_dir):
        return catalogue_for(language, layouts_dir).name
    try:
        name = Locale.parse(language, sep="-").display_name or language
    except (UnknownLocaleError, ValueError):
        return language
    return name[:1].upper() + name[1:]


def other_files(leaflet: Leaflet, settings: Settings, labels: Catalogue, folder: Path) -> list[dict]:
    """Links to the leaflet's files in its other formats that a build makes for it: the audio once it
    is there (the page plays it), the braille where its language has a braille table."""
    links = []
    for key, suffix in _linked_suffixes():
        name = f"{leaflet.stem}{suffix}"
        if key in MADE_WITH_THE_AUDIO and not os.path.isfile(os.path.join(folder, name)):
            continue
        if key == "braille" and not labels.braille_table(settings.braille.table):
            continue
        links.append({"key": key, "href": quote(name), "label": labels.text(f"web.files.{key}")})
    return links


@cache
def _linked_suffixes() -> tuple[tuple[str, str], ...]:
    """(manifest key, file suffix) of each file the page may link, in LINKED_FILES' order."""
    from . import RENDERERS  # the registry, which imports this module

    suffixes = {key: suffix for renderer in RENDERERS.values() for key, suffix in renderer.outputs.items()}
    return tuple((key, suffixes[key]) for key in LINKED_FILES if key in suffixes)


# -- fonts and assets ----------------------------------------------------------------------


def family_css(families: tuple[str, ...]) -> str:
    return ", ".join([*(f'"{family}"' for family in families), "sans-serif"])


def font_faces(faces: list[Face], assets: Assets) -> list[dict]:
    """The @font-face rules of the page's faces (see Assets.face_rules)."""
    return [rule for face in faces for rule in assets.face_rules(face)]


@cache
def local_names(file: FontFile) -> tuple[str, ...]:
    """The names a system knows a face by: its full name and its PostScript name."""
    from fontTools.ttLib import TTFont

    names = TTFont(str(file.path), fontNumber=file.index, lazy=True)["name"]
    return tuple(dict.fromkeys(str(name) for name in (names.getDebugName(4), names.getDebugName(6)) if name))


@cache
def _folder_name(family: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", family.lower()).strip("-")


# What this process found or made in an assets folder, with the folder's inode and mtime then: every
# page of a build names the same few files. (file, folder, copy) -> the copy's address; (face,
# folder) -> its @font-face rules.
_published: dict[tuple[Path, Path, str], tuple[tuple[int, int], str]] = {}
_face_rules: dict[tuple[Face, Path], tuple[tuple[int, int], tuple[dict, ...]]] = {}


class Assets:
    """The folder ``out_dir/_assets`` the pages share, as one page finds it."""

    def __init__(self, out_dir: Path):
        self.folder = out_dir / ASSETS
        self.identity = _identity(self.folder)

    def publish(self, source: Path, relative: str) -> str:
        """Copy a file the page needs into ``_assets/relative``, whole or not at all, unless the
        same file (by size) is there already; its address from a page in ``out_dir/<slug>/``.
        Checked once a process while the folder is the same one (neither removed nor made again),
        as the fonts and logo are read once a process for the PDFs too: a folder removed under a
        long-lived worker is filled again, a font replaced under it is copied by the next build."""
        key = (source, self.folder, relative)
        known = _published.get(key)
        if known is not None and known[0] == self.identity:
            return known[1]
        target = self.folder / relative
        size = os.stat(source).st_size
        try:
            current = os.stat(target).st_size
        except OSError:
            current = None
        if current != size:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, source.read_bytes())
            self.identity = _identity(self.folder)
        address = quote(f"../{ASSETS}/{relative}")
        _published[key] = (self.identity, address)
        return address

    def face_rules(self, face: Face) -> tuple[dict, ...]:
        """The @font-face rules of a face, regular and bold: the reader's own copy of it, asked for by
        name, else the file, copied into the folder (a reader with Noto installed downloads none of
        it). A face of a font collection (the CJK faces) is not copied: without the reader's own
        copy, the browser's sans-serif stands in."""
        key = (face, self.folder)
        known = _face_rules.get(key)
        if known is not None and known[0] == self.identity:
            return known[1]
        rules = []
        for weight, file in zip((400, 700), face.files, strict=True):
            sources = [f'local("{name}")' for name in local_names(file)]
            if not file.is_collection_face:
                sources.append(f'url("{self.publish(file.path, f"fonts/{_folder_name(face.family)}/{file.path.name}")}")')
            rules.append({"family": face.family, "weight": weight, "src": ", ".join(sources)})
        _face_rules[key] = (self.identity, tuple(rules))
        return tuple(rules)


def _identity(folder: Path) -> tuple[int, int]:
    try:
        found = os.stat(folder)
    except OSError:
        return (0, 0)
    return (found.st_ino, found.st_mtime_ns)


# -- the page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageParts:
    """What the page's two templates are rendered from: web_page works it out, render_page renders it
    (the benchmark times rendering alone as the page's floor)."""

    stylesheet: dict
    page: dict


def page_parts(leaflet: Leaflet, settings: Settings, out_dir: Path) -> PageParts:
    """Everything the page shows, its fonts and logo published into ``out_dir``; InputError for a
    character none of its fonts has."""
    labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
    info = language_info(leaflet.meta.language)
    folder = out_dir / leaflet.slug
    files = other_files(leaflet, settings, labels, folder)
    audio = next((link for link in files if link["key"] == "audio"), None)
    chapters = recording_chapters(folder / f"{leaflet.stem}.mp3") if audio else ()
    languages = other_languages(leaflet, settings.layouts_dir)
    fonts = printable_fonts(leaflet, settings, extra=[chapter.title for chapter in chapters])  # the labels are planned with the PDFs
    language_fonts = {language.tag: _language_fonts(language, settings) or fonts for language in languages}
    faces = list(dict.fromkeys(face for plan in (fonts, *language_fonts.values()) for face in plan.faces))
    logo = settings.logo_path
    assets = Assets(out_dir)
    stylesheet = dict(
        colours=settings.colours,
        faces=font_faces(faces, assets),
        families=family_css(fonts.families),
        line_height=max(MIN_LINE_HEIGHT, fonts.line_height),
        languages=[{"tag": tag, "families": family_css(plan.families), "line_height": max(MIN_LINE_HEIGHT, plan.line_height)}
                   for tag, plan in language_fonts.items() if plan != fonts],
    )
    page = dict(
        leaflet=leaflet,
        meta=leaflet.meta,
        organisation=settings.organisation,
        web=True,
        logo_url=assets.publish(logo, logo.name) if logo else "",
        text=labels.text,
        stamp=labels.stamp_parts(leaflet.meta),
        stamp_text=labels.stamp(leaflet.meta),
        web_address="",  # the PDFs' way to the page
        direction=info.direction,
        rtl=info.rtl,
        files=files,
        audio=audio,
        chapters=chapters,
        languages=languages,
    )
    return PageParts(stylesheet, page)


def render_page(settings: Settings, parts: PageParts) -> str:
    env = environment(settings.layouts_dir)
    css = env.get_template("web-page.css.j2").render(**parts.stylesheet)
    return env.get_template("web-page.html.j2").render(**parts.page, css=css)


def web_page(leaflet: Leaflet, settings: Settings, out_dir: Path) -> str:
    """The page of one leaflet in one language, its fonts and logo published into ``out_dir``;
    InputError for a character none of its fonts has."""
    return render_page(settings, page_parts(leaflet, settings, out_dir))


def _language_fonts(language: OtherLanguage, settings: Settings) -> FontPlan | None:
    """The faces a language's name is set in, as its own leaflets set it (Urdu in Nastaliq); None if
    none of the faces has it, and the page's own faces and the browser's stand in."""
    return _name_fonts(language.name, language.tag, settings.fonts, settings.settings_file)


@cache  # every page of a leaflet's family names the same languages
def _name_fonts(name: str, tag: str, fonts, settings_file: Path) -> FontPlan | None:
    try:
        return plan_fonts(name, language_info(tag), fonts, settings_file)
    except InputError:
        return None


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    out_dir = targets["html"].parent.parent  # the page is written in output/<slug>/
    targets["html"].write_text(web_page(leaflet, settings, out_dir), encoding="utf-8")


RENDERER = Renderer(name="html", outputs={"html": ".html"}, render=render, reads=("audio",))
