"""The audio script: what the recording says, chapter by chapter, already normalised for speech.

The audio renderer speaks these utterances one by one and writes the same text beside the
MP3, so staff can proofread exactly what patients hear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Block, Callout, Heading, Image, Leaflet, ListBlock, Paragraph, Table, plain_text
from .normalise import Normaliser, load_pronunciations, mentions_contact, spell_code
from .settings import Settings


@dataclass(frozen=True)
class Utterance:
    text: str
    pause_after_ms: int


@dataclass(frozen=True)
class Chapter:
    title: str
    utterances: tuple[Utterance, ...]


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'‘“(]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """One utterance per sentence: the speech engine is only reliable with short utterances."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def spoken_stamp(leaflet: Leaflet) -> str:
    meta = leaflet.meta
    return (
        f"Resource number {spell_code(meta.resource_number)}. "
        f"Last reviewed {meta.last_reviewed.display}. Next review {meta.next_review.display}."
    )


def duration_sentence(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"This recording lasts about {minutes} minute{'s' if minutes != 1 else ''}."


class _ScriptWriter:
    def __init__(self, leaflet: Leaflet, settings: Settings):
        self.leaflet = leaflet
        self.options = settings.audio
        self.settings = settings
        pronunciations = load_pronunciations(settings.layouts_dir / "pronunciations.yaml")
        self.say = Normaliser(leaflet.meta.language, pronunciations)
        self.english = leaflet.meta.language.lower().split("-")[0] == "en"
        self.utterances: list[Utterance] = []
        self.chapters: list[Chapter] = []
        self.duration_index = 0

    def add(self, text: str, pause_ms: int | None = None) -> None:
        sentences = split_sentences(self.say(text))
        for index, sentence in enumerate(sentences):
            last = index == len(sentences) - 1
            pause = pause_ms if last and pause_ms is not None else self.options.sentence_pause_ms
            self.utterances.append(Utterance(sentence, pause))

    def heading(self, text: str) -> None:
        """A heading, with a section pause before and after it."""
        self.pause_before_heading()
        self.add(_sentence(text), self.options.section_pause_ms)

    def pause_before_heading(self) -> None:
        previous = self.utterances or (self.chapters[-1].utterances if self.chapters else ())
        if previous and previous[-1].pause_after_ms < self.options.section_pause_ms:
            last = Utterance(previous[-1].text, self.options.section_pause_ms)
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
        title = "Introduction"
        for section in sections:
            if section.heading is not None:  # the opening text stays in the introduction
                self.take(title)
                title = section.heading.text
                self.heading(title)
            self._blocks(section.blocks)
        self.take(title)
        self.ending(sections)
        self.take("Contact and review dates")
        return self.chapters

    def introduction(self, section_titles: list[str]) -> None:
        """Who made the recording, what it is, how long it lasts, its stamp and what it covers (UKAAF)."""
        meta = self.leaflet.meta
        o = self.options
        self.add(f"{self.settings.organisation.name}.")
        if meta.department:
            self.add(f"From the {meta.department} team.")
        self.add(_sentence(meta.title) + (f" {_sentence(meta.subtitle)}" if meta.subtitle else ""), o.section_pause_ms)
        self.add("This is an audio version of our patient information leaflet.")
        self.duration_index = len(self.utterances)
        self.utterances.append(Utterance(spoken_stamp(self.leaflet), o.sentence_pause_ms))
        if section_titles:
            count = len(section_titles)
            names = _listing([t.strip().rstrip(".:") for t in section_titles])
            self.add(f"It has {count} section{'' if count == 1 else 's'}: {names}.", o.section_pause_ms)

    def ending(self, sections) -> None:
        """How to contact the team again, the organisation's own numbers, and the stamp."""
        meta = self.leaflet.meta
        org = self.settings.organisation
        self.heading("How to contact us")
        self._blocks(self._contact_blocks(sections))
        numbers = []
        if org.switchboard:
            numbers.append(f"the {org.name} switchboard on {org.switchboard}")
        if org.patient_advice.phone:
            numbers.append(f"the {org.patient_advice.name} on {org.patient_advice.phone}")
        if numbers:
            self.add(f"You can also call {' or '.join(numbers)}.", self.options.section_pause_ms)
        self.add(f"This was {_sentence(meta.title)}")
        self.utterances.append(Utterance(spoken_stamp(self.leaflet), self.options.sentence_pause_ms))
        self.add("End of recording.", 0)

    def _contact_blocks(self, sections) -> list[Block]:
        """The opening blocks of a "Contact …" section; failing that, every block that gives a number or address."""
        for section in sections:
            if self.english and section.heading is not None and "contact" in section.heading.text.lower():
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
                self.heading(block.text)
            elif isinstance(block, Paragraph):
                self.add(_sentence(plain_text(block.inlines)))
            elif isinstance(block, ListBlock):
                self._list(block)
            elif isinstance(block, Callout):
                if not block.says_important:
                    self.add("Important.", o.item_pause_ms)
                self._blocks(block.blocks)
            elif isinstance(block, Table):
                self._table(block)
            elif isinstance(block, Image):
                self.add(f"Picture: {_sentence(block.alt)}")

    def _list(self, block: ListBlock) -> None:
        for number, item in enumerate(block.items, start=block.start):
            for index, inner in enumerate(item.blocks):
                if isinstance(inner, Paragraph):
                    text = _sentence(plain_text(inner.inlines))
                    if block.ordered and index == 0:
                        text = f"{number}: {text}"
                    self.add(text, self.options.item_pause_ms)
                else:
                    self._blocks((inner,))

    def _table(self, table: Table) -> None:
        """Row by row, each cell after its column header: "Colour: white. Strength: 0.5 milligrams."."""
        headers = [plain_text(cell) for cell in table.header]
        for row in table.rows:
            parts = []
            for col, cell in enumerate(row):
                value = plain_text(cell).strip()
                if not value:
                    continue  # an empty cell is not read out
                label = headers[col] if col < len(headers) else ""
                parts.append(f"{label}: {value}" if label else value)
            if parts:
                self.add(". ".join(_sentence(p).rstrip(".") for p in parts) + ".", self.options.item_pause_ms)


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


def _listing(names: list[str]) -> str:
    """A, B and C."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _sentence(text: str) -> str:
    """End a heading, list item or cell with a full stop so the engine pauses after it."""
    text = text.strip()
    return text if not text or text[-1] in ".!?:" else f"{text}."


@dataclass(frozen=True)
class Script:
    """Every chapter of the recording; the introduction says how long it lasts once that is known."""

    chapters: tuple[Chapter, ...]
    duration_index: int  # where the "lasts about N minutes" sentence goes in the introduction

    def with_duration(self, seconds: float, pause_ms: int) -> Script:
        intro = self.chapters[0]
        utterances = list(intro.utterances)
        utterances.insert(self.duration_index, Utterance(duration_sentence(seconds), pause_ms))
        return Script((Chapter(intro.title, tuple(utterances)), *self.chapters[1:]), self.duration_index)

    def text(self) -> str:
        """The script as written beside the MP3: one utterance a line, a blank line between chapters."""
        return "\n\n".join("\n".join(u.text for u in c.utterances) for c in self.chapters) + "\n"


def build_script(leaflet: Leaflet, settings: Settings) -> Script:
    """The recording's script, without its duration sentence (see Script.with_duration)."""
    writer = _ScriptWriter(leaflet, settings)
    chapters = writer.script()
    return Script(tuple(chapters), writer.duration_index)
