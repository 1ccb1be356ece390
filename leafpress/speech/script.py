"""The audio script: what the recording says, chapter by chapter, already normalised for speech.

The audio renderer speaks these utterances one by one and writes the same text beside the
MP3, so staff can proofread exactly what patients hear.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass, field, replace

from ..languages.catalogue import Catalogue, catalogue_for
from ..memo import LastMade
from ..model import Block, Callout, Heading, Image, Leaflet, ListBlock, Paragraph, Table, plain_text
from ..settings import Settings
from .normalise import Normaliser, load_pronunciations, mentions_contact, spell_code


@dataclass(frozen=True)
class Utterance:
    text: str
    pause_after_ms: int
    # What on the page it reads, for the read-along EPUB: a Heading, Paragraph or Image of the
    # leaflet (its id(), the script being made from the very objects the page is), a table cell
    # (Cell), a callout's label, or a COVER_* part of the title page. None for what only the
    # recording says (the introduction, the ending).
    anchor: Hashable | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Cell:
    """A table cell as an anchor: the table, the row and the column."""

    table_id: int
    row: int
    column: int


@dataclass(frozen=True)
class CalloutLabel:
    """The spoken "Important" of a callout whose text doesn't say it."""

    callout_id: int


COVER_ORGANISATION, COVER_TITLE, COVER_SUBTITLE, COVER_STAMP = "cover-organisation", "cover-title", "cover-subtitle", "cover-stamp"


@dataclass(frozen=True)
class Chapter:
    title: str
    utterances: tuple[Utterance, ...]


# A sentence ends at . ! ? (and the Arabic, Urdu and Indic full stops) before a space and anything
# but a lower-case letter, or at a Chinese or Japanese full stop, which needs no space after it.
SENTENCE_END = re.compile(r"(?<=[.!?؟۔।॥])\s+(?=[\"'‘“(]?[^\W_])|(?<=[。！？])\s*(?=\S)")
SENTENCE_MARKS = ".!?:。！？：؟۔।॥"


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends (spaces around it included)."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        following = text[match.end():].lstrip("\"'‘“(")[:1]
        if not following.islower():
            bounds.append((start, match.start()))
            start = match.end()
    bounds.append((start, len(text)))
    return [(begin, end) for begin, end in bounds if text[begin:end].strip()]


def split_sentences(text: str) -> list[str]:
    """One utterance per sentence: the speech engine is only reliable with short utterances."""
    return [text[begin:end].strip() for begin, end in sentence_bounds(text)]


CHARACTERS_PER_WORD = 1.5  # Chinese and Japanese, written without spaces: about 1.5 characters a word


def word_count(text: str) -> int:
    """Words in any script: runs between spaces that hold a letter or digit (vowel signs and other
    marks belong to their word), each Chinese or Japanese character counting as 1/1.5 of a word."""
    count = 0.0
    for token in text.split():
        wide = sum(unicodedata.east_asian_width(char) in "WF" and char.isalnum() for char in token)
        count += wide / CHARACTERS_PER_WORD if wide else any(char.isalnum() for char in token)
    return round(count)


def spoken_stamp(leaflet: Leaflet, labels: Catalogue) -> str:
    meta = leaflet.meta
    return labels.text(
        "audio.stamp", resource_number=spell_code(meta.resource_number, labels),
        last_reviewed=labels.month_year(meta.last_reviewed), next_review=labels.month_year(meta.next_review),
    )


def duration_sentence(seconds: float, labels: Catalogue) -> str:
    minutes = max(1, round(seconds / 60))
    return labels.plural("audio.duration", minutes, minutes=minutes)


class _ScriptWriter:
    def __init__(self, leaflet: Leaflet, settings: Settings):
        self.leaflet = leaflet
        self.options = settings.audio
        self.settings = settings
        pronunciations = load_pronunciations(settings.layouts_dir / "pronunciations.yaml")
        self.labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
        self.say = Normaliser(self.labels, pronunciations)
        self.contact_words = self.labels.entries.get("audio.contact_section_words", [])
        self.utterances: list[Utterance] = []
        self.chapters: list[Chapter] = []
        self.duration_index = 0
        self.anchoring = True  # off for the ending, which repeats text already anchored

    def add(self, text: str, pause_ms: int | None = None, anchor: Hashable | None = None) -> None:
        sentences = [s for s in split_sentences(self.say(text)) if any(char.isalnum() for char in s)]  # never a lone "."
        anchor = anchor if self.anchoring else None
        for index, sentence in enumerate(sentences):
            last = index == len(sentences) - 1
            pause = pause_ms if last and pause_ms is not None else self.options.sentence_pause_ms
            self.utterances.append(Utterance(sentence, pause, anchor))

    def heading(self, text: str, anchor: Hashable | None = None) -> None:
        """A heading, with a section pause before and after it."""
        self.pause_before_heading()
        self.add(_sentence(text), self.options.section_pause_ms, anchor)

    def pause_before_heading(self) -> None:
        previous = self.utterances or (self.chapters[-1].utterances if self.chapters else ())
        if previous and previous[-1].pause_after_ms < self.options.section_pause_ms:
            last = replace(previous[-1], pause_after_ms=self.options.section_pause_ms)
            if self.utterances:
                self.utterances[-1] = last
            else:
                chapter = self.chapters[-1]
                self.chapters[-1] = Chapter(chapter.title, (*chapter.utterances[:-1], last))

    def take(self, title: str) -> None:
        self.chapters.append(Chapter(title, tuple(self.utterances)))
        self.utterances = []

    def script(self) -> list[Chapter]:
        sections = list(self.leaflet.sections())
        self.introduction([s.heading.text for s in sections if s.heading is not None])
        title = self.labels.text("audio.introduction_chapter")
        for section in sections:
            if section.heading is not None:  # the opening text stays in the introduction
                self.take(title)
                title = section.heading.text
                self.heading(title, id(section.heading))
            self._blocks(section.blocks)
        self.take(title)
        self.ending(sections)
        self.take(self.labels.text("audio.ending_chapter"))
        return self.chapters

    def introduction(self, section_titles: list[str]) -> None:
        """Who made the recording, what it is, how long it lasts, its stamp and what it covers (UKAAF)."""
        meta = self.leaflet.meta
        o = self.options
        labels = self.labels
        self.add(_sentence(self.settings.organisation.name), anchor=COVER_ORGANISATION)
        if meta.department:
            self.add(labels.text("audio.from_team", department=meta.department))
        self.add(_sentence(meta.title), None if meta.subtitle else o.section_pause_ms, COVER_TITLE)
        if meta.subtitle:
            self.add(_sentence(meta.subtitle), o.section_pause_ms, COVER_SUBTITLE)
        self.add(labels.text("audio.introduction"))
        self.duration_index = len(self.utterances)
        self.utterances.append(Utterance(spoken_stamp(self.leaflet, labels), o.sentence_pause_ms, COVER_STAMP))
        if section_titles:
            names = labels.listing([t.strip().rstrip(SENTENCE_MARKS) for t in section_titles])
            self.add(labels.plural("audio.sections", len(section_titles), names=names), o.section_pause_ms)

    def ending(self, sections) -> None:
        """How to contact the team again, the organisation's own numbers, and the stamp."""
        meta = self.leaflet.meta
        org = self.settings.organisation
        labels = self.labels
        self.anchoring = False
        self.heading(labels.text("audio.contact_heading"))
        self._blocks(self._contact_blocks(sections))
        numbers = []
        if org.switchboard:
            numbers.append(labels.text("audio.switchboard", organisation=org.name, number=org.switchboard))
        if org.patient_advice.phone:
            numbers.append(labels.text("audio.patient_advice", service=org.patient_advice.name, number=org.patient_advice.phone))
        if numbers:
            either = numbers[0] if len(numbers) == 1 else labels.text("audio.either", first=numbers[0], second=numbers[1])
            self.add(labels.text("audio.also_call", numbers=either), self.options.section_pause_ms)
        self.add(labels.text("audio.this_was", title=_sentence(meta.title)))
        self.utterances.append(Utterance(spoken_stamp(self.leaflet, labels), self.options.sentence_pause_ms))
        self.add(labels.text("audio.end"), 0)

    def _contact_blocks(self, sections) -> list[Block]:
        """The opening blocks of a "Contact …" section; failing that, every block that gives a number or address."""
        for section in sections:
            if section.heading is not None and any(word.lower() in section.heading.text.lower() for word in self.contact_words):
                blocks = []
                for block in section.blocks:
                    if isinstance(block, Heading):
                        break
                    blocks.append(block)
                return blocks
        return [b for s in sections for b in s.blocks if not isinstance(b, Heading) and mentions_contact(block_text(b))]

    def _blocks(self, blocks) -> None:
        o = self.options
        for block in blocks:
            if isinstance(block, Heading):
                self.heading(block.text, id(block))
            elif isinstance(block, Paragraph):
                self.add(_sentence(plain_text(block.inlines)), anchor=id(block))
            elif isinstance(block, ListBlock):
                self._list(block)
            elif isinstance(block, Callout):
                if not block.says_important:
                    self.add(self.labels.text("audio.important"), o.item_pause_ms, CalloutLabel(id(block)))
                self._blocks(block.blocks)
            elif isinstance(block, Table):
                self._table(block)
            elif isinstance(block, Image):
                self.add(self.labels.text("audio.picture", description=_sentence(block.alt)), anchor=id(block))

    def _list(self, block: ListBlock) -> None:
        for number, item in enumerate(block.items, start=block.start):
            for index, inner in enumerate(item.blocks):
                if isinstance(inner, Paragraph):
                    text = _sentence(plain_text(inner.inlines))
                    if block.ordered and index == 0:
                        text = self.labels.text("audio.numbered_item", number=number, text=text)
                    self.add(text, self.options.item_pause_ms, id(inner))
                else:
                    self._blocks((inner,))

    def _table(self, table: Table) -> None:
        """Row by row, each cell after its column header: "Colour: white. Strength: 0.5 milligrams."."""
        headers = [plain_text(cell) for cell in table.header]
        for number, row in enumerate(table.rows):
            parts = []
            for col, cell in enumerate(row):
                value = plain_text(cell).strip()
                if not value:
                    continue  # an empty cell is not read out
                label = headers[col] if col < len(headers) else ""
                parts.append((f"{label}: {value}" if label else value, Cell(id(table), number, col)))
            for index, (part, cell) in enumerate(parts):  # the row's last sentence gets the pause after an item
                self.add(_sentence(part), self.options.item_pause_ms if index == len(parts) - 1 else None, cell)


def block_text(block: Block) -> str:
    """Every word of a block, nested blocks included."""
    if isinstance(block, Heading):
        return block.text
    if isinstance(block, Paragraph):
        return plain_text(block.inlines)
    if isinstance(block, ListBlock):
        return " ".join(block_text(inner) for item in block.items for inner in item.blocks)
    if isinstance(block, Callout):
        return " ".join(block_text(inner) for inner in block.blocks)
    if isinstance(block, Table):
        return " ".join(plain_text(cell) for row in (block.header, *block.rows) for cell in row)
    return block.alt


def _sentence(text: str) -> str:
    """End a heading, list item or cell with a full stop so the engine pauses after it."""
    text = text.strip()
    if not text or text[-1] in SENTENCE_MARKS:
        return text
    return text + ("。" if unicodedata.east_asian_width(text[-1]) in "WF" else ".")  # a Chinese full stop after Chinese


@dataclass(frozen=True)
class Script:
    """Every chapter of the recording; the introduction says how long it lasts once that is known."""

    chapters: tuple[Chapter, ...]
    duration_index: int  # where the "lasts about N minutes" sentence goes in the introduction
    labels: Catalogue

    def duration_sentence(self, seconds: float) -> str:
        return duration_sentence(seconds, self.labels)

    def with_duration(self, seconds: float, pause_ms: int) -> Script:
        intro = self.chapters[0]
        utterances = list(intro.utterances)
        utterances.insert(self.duration_index, Utterance(self.duration_sentence(seconds), pause_ms))
        return Script((Chapter(intro.title, tuple(utterances)), *self.chapters[1:]), self.duration_index, self.labels)

    def text(self) -> str:
        """The script as written beside the MP3: one utterance a line, a blank line between chapters."""
        return "\n\n".join("\n".join(u.text for u in c.utterances) for c in self.chapters) + "\n"


_last_script: LastMade[Script] = LastMade()


def build_script(leaflet: Leaflet, settings: Settings) -> Script:
    """The recording's script, without its duration sentence (see Script.with_duration).

    Made once for the same leaflet and settings objects: the audio and the read-along EPUB of
    one leaflet in one build share it (and its anchors, which are ids of that leaflet's blocks)."""

    def make() -> Script:
        writer = _ScriptWriter(leaflet, settings)
        chapters = writer.script()
        return Script(tuple(chapters), writer.duration_index, writer.labels)

    return _last_script.get((leaflet, settings), make)
