"""The audio script: what the recording says, chapter by chapter, already normalised for speech.

The audio renderer speaks these utterances one by one and writes the same text beside the
MP3, so staff can proofread exactly what patients hear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Callout, Heading, Image, Leaflet, ListBlock, Paragraph, Table, plain_text
from .normalise import Normaliser, load_pronunciations, spell_code
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
        self.utterances: list[Utterance] = []
        self.duration_index = 0

    def add(self, text: str, pause_ms: int | None = None, normalise: bool = True) -> None:
        sentences = split_sentences(self.say(text) if normalise else text)
        for index, sentence in enumerate(sentences):
            last = index == len(sentences) - 1
            pause = (pause_ms if pause_ms is not None else self.options.sentence_pause_ms) if last else self.options.sentence_pause_ms
            self.utterances.append(Utterance(sentence, pause))

    def take(self, title: str) -> Chapter:
        chapter = Chapter(title, tuple(self.utterances))
        self.utterances = []
        return chapter

    def chapters(self) -> list[Chapter]:
        meta = self.leaflet.meta
        org = self.settings.organisation
        o = self.options
        sections = list(self.leaflet.sections())
        named = [s for s in sections if s.heading is not None]

        self.add(f"{org.name}.")
        self.add(_sentence(meta.title) + (f" {_sentence(meta.subtitle)}" if meta.subtitle else ""), o.section_pause_ms)
        self.add("This is an audio version of our patient information leaflet.")
        self.duration_index = len(self.utterances)
        self.utterances.append(Utterance(spoken_stamp(self.leaflet), o.sentence_pause_ms))
        if named:
            count = len(named)
            self.add(f"There {'is' if count == 1 else 'are'} {count} section{'' if count == 1 else 's'}.", o.section_pause_ms)

        chapters: list[Chapter] = []
        title = "Introduction"
        for section in sections:
            if section.heading is not None:  # the opening text stays in the introduction
                chapters.append(self.take(title))
                title = section.heading.text
                self.add(_sentence(title), o.section_pause_ms)
            self._blocks(section.blocks)
        chapters.append(self.take(title))

        contact = [f"To contact {org.name}"]
        if org.switchboard:
            contact.append(f"call the switchboard on {org.switchboard}")
        if org.patient_advice.phone:
            contact.append(f"or the {org.patient_advice.name} on {org.patient_advice.phone}")
        self.add(", ".join(contact) + ".", o.section_pause_ms)
        self.add(f"This was {_sentence(meta.title)}")
        self.utterances.append(Utterance(spoken_stamp(self.leaflet), o.sentence_pause_ms))
        self.add("End of recording.", 0)
        chapters.append(self.take("Contact and review dates"))
        return chapters

    def _blocks(self, blocks) -> None:
        o = self.options
        for block in blocks:
            if isinstance(block, Heading):
                self.add(_sentence(block.text), o.section_pause_ms)
            elif isinstance(block, Paragraph):
                self.add(_sentence(plain_text(block.inlines)))
            elif isinstance(block, ListBlock):
                self._list(block)
            elif isinstance(block, Callout):
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
        headers = [plain_text(cell) for cell in table.header]
        for row in table.rows:
            parts = []
            for col, cell in enumerate(row):
                value = plain_text(cell)
                label = headers[col] if col < len(headers) else ""
                parts.append(f"{label}: {value}" if label else value)
            self.add(". ".join(_sentence(p).rstrip(".") for p in parts) + ".", self.options.item_pause_ms)


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
    chapters = writer.chapters()
    return Script(tuple(chapters), writer.duration_index)
