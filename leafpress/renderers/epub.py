"""The read-along EPUB: the leaflet's text and its audio reading together (EPUB 3 media overlays).

The text is XHTML made from the same model as every other format, each sentence the audio
reads in an element of its own; the audio is the leaflet's MP3 itself, and the timings come
from it: the audio renderer records where each sentence starts and ends as it speaks them
(an ID3 SYLT frame), so nothing is synthesised twice. The script the audio was spoken from is
made again (cheaply, no speech) to learn which sentence reads which part of the page, and
checked against the MP3's sentences. A reading system (Thorium Reader, Apple Books) then
highlights each sentence as it is spoken, with the class named by ``media:active-class``.

Everything the book holds is written from templates in layouts/epub/ into a zip whose first
entry is the ``mimetype``, stored; every entry has the same date, so the same leaflet and audio
make the same bytes.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup, escape

from ..errors import RenderError
from ..languages.catalogue import catalogue_for
from ..languages.tags import language_info
from ..model import Bold, Callout, Heading, Image, Inline, Leaflet, Link, Paragraph, Table, Text, plain_text, walk
from ..settings import Settings
from ..speech.script import COVER_ORGANISATION, COVER_STAMP, COVER_SUBTITLE, COVER_TITLE, CalloutLabel, Cell, Utterance, build_script, sentence_bounds
from ..templates import environment
from .audio import read_recording_tags
from .base import Renderer, sibling

ACTIVE_CLASS = "-epub-media-overlay-active"  # the class a reading system puts on the sentence it is playing
ZIP_DATE = (2000, 1, 1, 0, 0, 0)  # every entry's date: the same inputs make the same file
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
AUDIO_SUFFIX = ".mp3"
DOCUMENTS = ("cover.xhtml", "text.xhtml")  # in reading order, with nav.xhtml beside them
COVER_PARTS = {"organisation": COVER_ORGANISATION, "title": COVER_TITLE, "subtitle": COVER_SUBTITLE, "stamp": COVER_STAMP}


@dataclass(frozen=True)
class Clip:
    """One ``<par>`` of an overlay: the element that is highlighted and the stretch of audio read for it."""

    target: str  # the element's id
    begin_ms: int
    end_ms: int


@dataclass
class ReadAlong:
    """Which element of the book each spoken sentence reads, and when.

    The templates ask for each part of the leaflet by ``of(anchor, inlines)``, in reading order:
    they get its id and its text, marked up sentence by sentence where the written sentences are
    the spoken ones (else the whole part is one clip), and the clips are collected per document.
    """

    times: Mapping[Hashable, list[tuple[int, int]]]  # anchor -> (start, end) of each sentence spoken for it
    clips: dict[str, list[Clip]] = field(default_factory=dict)  # document -> its clips, in reading order
    document: str = ""
    count: int = 0

    def start(self, document: str) -> str:
        self.document = document
        self.clips.setdefault(document, [])
        return ""

    def block(self, block: Heading | Paragraph | Image) -> Part:
        return self.of(id(block), getattr(block, "inlines", ()))

    def cell(self, table: Table, row: int, column: int) -> Part:
        return self.of(Cell(id(table), row, column), table.rows[row][column])

    def label(self, callout: Callout) -> Part:
        return self.of(CalloutLabel(id(callout)))

    def cover(self, part: str) -> Part:
        return self.of(COVER_PARTS[part])

    def of(self, anchor: Hashable, inlines: Sequence[Inline] = ()) -> Part:
        """The id and the marked-up text of the part of the page that ``anchor`` names."""
        self.count += 1
        element = f"r{self.count}"
        spoken = self.times.get(anchor, [])
        pieces = sentence_pieces(inlines) if len(spoken) > 1 else None
        if pieces is not None and len(pieces.sentences) == len(spoken):
            ids = [f"{element}s{number}" for number in range(1, len(spoken) + 1)]
            for sentence_id, (begin, end) in zip(ids, spoken, strict=True):
                self.clips[self.document].append(Clip(sentence_id, begin, end))
            return Part(element, pieces.markup(ids))
        if spoken:
            self.clips[self.document].append(Clip(element, spoken[0][0], spoken[-1][1]))
        return Part(element, inline_html(inlines))


@dataclass(frozen=True)
class Part:
    id: str
    html: Markup


def inline_html(spans: Sequence[Inline]) -> Markup:
    """Inline spans as XHTML."""
    return Markup("".join(_inline_html(spans)))


def _inline_html(spans: Sequence[Inline]) -> Iterator[str]:
    for span in spans:
        if isinstance(span, Text):
            yield escape(span.text)
        elif isinstance(span, Bold):
            yield "<strong>"
            yield from _inline_html(span.children)
            yield "</strong>"
        elif isinstance(span, Link):
            yield f'<a href="{escape(span.href)}">'
            yield from _inline_html(span.children)
            yield "</a>"


@dataclass(frozen=True)
class SentencePieces:
    """A part's inline spans cut into its sentences (and the space between them)."""

    sentences: tuple[tuple[Inline, ...], ...]
    gaps: tuple[str, ...]  # the text before each sentence (spaces)

    def markup(self, ids: Sequence[str]) -> Markup:
        return Markup("".join(
            f'{escape(gap)}<span id="{sentence_id}">{inline_html(spans)}</span>'
            for gap, sentence_id, spans in zip(self.gaps, ids, self.sentences, strict=True)
        ))


def sentence_pieces(spans: Sequence[Inline]) -> SentencePieces | None:
    """The spans cut where sentences end, as the audio cuts them; None when a sentence ends
    inside bold text or a link (then the part is read along as a whole)."""
    text = plain_text(tuple(spans))
    bounds = sentence_bounds(text)
    sentences: list[list[Inline]] = []
    gaps: list[str] = []
    position = 0
    spans_left = list(spans)
    for begin, end in bounds:
        # the sentence proper, without the spaces around it
        stripped = text[begin:end]
        begin += len(stripped) - len(stripped.lstrip())
        end -= len(stripped) - len(stripped.rstrip())
        gap, spans_left, position = _take(spans_left, position, begin)
        if gap is None:
            return None
        sentence, spans_left, position = _take(spans_left, position, end)
        if sentence is None:
            return None
        gaps.append(plain_text(tuple(gap)))
        sentences.append(sentence)
    return SentencePieces(tuple(tuple(s) for s in sentences), tuple(gaps))


def _take(spans: list[Inline], position: int, until: int) -> tuple[list[Inline] | None, list[Inline], int]:
    """The spans from ``position`` up to ``until`` (text offsets), and those left; None if
    ``until`` falls inside bold text or a link."""
    taken: list[Inline] = []
    while position < until and spans:
        span = spans[0]
        length = len(plain_text((span,)))
        if position + length <= until:
            taken.append(span)
            spans = spans[1:]
            position += length
        elif isinstance(span, Text):
            cut = until - position
            taken.append(Text(span.text[:cut]))
            spans = [Text(span.text[cut:]), *spans[1:]]
            position = until
        else:
            return None, spans, position
    return taken, spans, position


def spoken_times(leaflet: Leaflet, settings: Settings, recorded: Sequence[tuple[str, int, int]], mp3_name: str) -> dict[Hashable, list]:
    """For each part of the page the audio reads, when each of its sentences is read (ms): each
    sentence from where its speech starts to where the next one's starts (the pause after it
    belongs to it), as the MP3 recorded them. RenderError if the MP3 was made from other text."""
    utterances: list[Utterance] = [u for chapter in build_script(leaflet, settings).chapters for u in chapter.utterances]
    times: dict[Hashable, list[tuple[int, int]]] = {}
    matched = 0
    for index, (text, start, end) in enumerate(recorded):
        if matched < len(utterances) and utterances[matched].text == text:  # else the duration sentence, made with the audio
            following = recorded[index + 1][1] if index + 1 < len(recorded) else end
            if utterances[matched].anchor is not None:
                times.setdefault(utterances[matched].anchor, []).append((start, following))
            matched += 1
    if matched < len(utterances):
        raise RenderError(f"the audio {mp3_name} was not made from this version of the leaflet; build the audio again with --formats audio,epub")
    return times


def clock(ms: int) -> str:
    """A SMIL clock value: ``0:01:02.345``."""
    seconds, ms = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def read_along_for(leaflet: Leaflet, settings: Settings, mp3: Path) -> tuple[ReadAlong, str]:
    """The pairing of the page with the MP3's sentences, and the voice that read them."""
    recording = read_recording_tags(mp3)
    return ReadAlong(spoken_times(leaflet, settings, recording.sentences, mp3.name)), recording.voice


def book_files(leaflet: Leaflet, settings: Settings, mp3: Path, read_along: ReadAlong, voice: str) -> Iterator[tuple[str, bytes | str]]:
    """Every file of the book but the mimetype and container, by its path in the book."""
    meta = leaflet.meta
    labels = catalogue_for(meta.language, settings.layouts_dir)
    info = language_info(meta.language)
    env = environment(settings.layouts_dir)
    images = {id(block): f"images/{number}{block.path.suffix.lower()}"
              for number, block in enumerate((b for b in walk(leaflet.blocks) if isinstance(b, Image)), start=1)}
    logo = settings.logo_path if settings.logo_path and settings.logo_path.suffix.lower() in IMAGE_TYPES else None
    audio_name = f"audio/{leaflet.stem}{AUDIO_SUFFIX}"
    sections = [section for section in leaflet.sections()]
    context = dict(
        leaflet=leaflet, meta=meta, organisation=settings.organisation, colours=settings.colours, labels=labels, text=labels.text,
        direction=info.direction, stamp=labels.stamp_parts(meta), read=read_along, images=images, sections=sections,
        logo=f"images/logo{logo.suffix.lower()}" if logo else "", active_class=ACTIVE_CLASS,
        inline=inline_html, image_src=lambda block: images[id(block)],
    )
    documents = {name: env.get_template(f"epub/{name}.j2").render(**context, document=name) for name in DOCUMENTS}
    overlays = {name: clips for name, clips in read_along.clips.items() if clips}  # a document nothing reads has no overlay
    durations = {name: sum(clip.end_ms - clip.begin_ms for clip in clips) for name, clips in overlays.items()}
    for name, body in documents.items():
        yield name, body
        if name in overlays:
            yield overlay_name(name), env.get_template("epub/overlay.smil.j2").render(
                document=name, clips=overlays[name], audio=audio_name, clock=clock)
    yield "nav.xhtml", env.get_template("epub/nav.xhtml.j2").render(**context)
    yield "style.css", env.get_template("epub/style.css.j2").render(**context)
    yield audio_name, mp3.read_bytes()
    media = []
    for block in walk(leaflet.blocks):
        if isinstance(block, Image):
            media.append((images[id(block)], IMAGE_TYPES[block.path.suffix.lower()]))
            yield images[id(block)], block.path.read_bytes()
    if logo:
        media.append((context["logo"], IMAGE_TYPES[logo.suffix.lower()]))
        yield context["logo"], logo.read_bytes()
    yield "package.opf", env.get_template("epub/package.opf.j2").render(
        **context, identifier=uuid.uuid5(uuid.NAMESPACE_URL, f"urn:leafpress:{meta.resource_number}:{leaflet.slug}:{meta.language}"),
        modified=f"{meta.last_reviewed.first_day.isoformat()}T00:00:00Z", audio=audio_name, media=media,
        documents={name: overlay_name(name) if name in overlays else None for name in documents},
        durations={overlay_name(name): clock(ms) for name, ms in durations.items()},
        total=clock(sum(durations.values())), narrator=voice, rtl=info.rtl,
    )


def overlay_name(document: str) -> str:
    return document.replace(".xhtml", ".smil")


CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles>
    <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>
  </rootfiles>
</container>
"""


def write_epub(path: Path, files: Iterable[tuple[str, bytes | str]]) -> None:
    """The zip: the mimetype first and stored, then the container, then the book (media stored, text deflated)."""

    def entry(name: str, data: bytes | str, compress: bool) -> None:
        info = zipfile.ZipInfo(name, ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        book.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)

    with zipfile.ZipFile(path, "w") as book:
        entry("mimetype", "application/epub+zip", compress=False)
        entry("META-INF/container.xml", CONTAINER, compress=True)
        for name, data in files:
            entry(f"EPUB/{name}", data, compress=isinstance(data, str))


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    mp3 = sibling(targets["epub"], leaflet, AUDIO_SUFFIX)
    if not mp3.is_file():
        raise RenderError(f"the read-along EPUB is made with the audio, and {mp3.name} is missing; build the audio too (--formats audio,epub)")
    files = list(book_files(leaflet, settings, mp3, *read_along_for(leaflet, settings, mp3)))  # every part made before the zip is opened
    write_epub(targets["epub"], files)


RENDERER = Renderer(name="epub", outputs={"epub": ".epub"}, render=render, reads=("audio",), needs=("audio",))
