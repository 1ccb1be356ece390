"""Plain-language checks for `generate.py check`: reading age, long sentences, alt text that says nothing.

NHS content guidance aims for a reading age of 9 to 11. Reading age here is the
Flesch-Kincaid grade (computed by textstat) plus 5, the usual mapping from a US school grade
to an age; it is an English formula, so other languages are not scored. Findings are
warnings; `check --strict` makes them failures. (An image with no alt text at all is already
an error of the reader.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .errors import Problem
from .model import Block, Callout, Heading, Image, Leaflet, ListBlock, Paragraph, plain_text, walk
from .speech import split_sentences, word_count

MAX_READING_AGE = 11
MAX_SENTENCE_WORDS = 25
MIN_WORDS_FOR_READING_AGE = 100  # the formula means little on a few sentences
GRADE_TO_AGE = 5
GENERIC_ALT = frozenset({"image", "picture", "photo", "photograph", "diagram", "figure", "graphic", "illustration", "img", "icon", "logo", "chart"})
FILE_NAME_ALT = re.compile(r"\S+\.(?:png|jpe?g|gif|svg|webp)", re.IGNORECASE)
WORD = re.compile(r"[^\W_](?:[\w'’-]*[^\W_])?")


def words(text: str) -> list[str]:
    return WORD.findall(text)


def _prose(blocks: Sequence[Block]) -> Iterator[tuple[Paragraph, bool]]:
    """Every paragraph, at any depth, and whether it is a list item (often a fragment, not a sentence)."""
    for block in blocks:
        if isinstance(block, Paragraph):
            yield block, False
        elif isinstance(block, Callout):
            yield from _prose(block.blocks)
        elif isinstance(block, ListBlock):
            for item in block.items:
                for inner, _ in _prose(item.blocks):
                    yield inner, True


def _sentences_text(blocks: Sequence[Block]) -> str:
    """The prose as full sentences: a list item without a full stop counts as one sentence."""
    parts = []
    for paragraph, in_list in _prose(blocks):
        text = plain_text(paragraph.inlines).strip()
        if in_list and text and text[-1] not in ".!?:;":
            text += "."
        parts.append(text)
    return " ".join(parts)


def reading_age(text: str) -> float | None:
    """The Flesch-Kincaid reading age of English prose, or None when it is too short to judge."""
    if len(words(text)) < MIN_WORDS_FOR_READING_AGE:
        return None
    import textstat

    return textstat.flesch_kincaid_grade(text) + GRADE_TO_AGE


def lint(leaflet: Leaflet, max_reading_age: float = MAX_READING_AGE) -> list[Problem]:
    """Every plain-language warning for one leaflet, in line order."""
    path = leaflet.source
    found: list[Problem] = []
    if leaflet.meta.language.lower().startswith("en"):
        found.extend(_reading_age_warnings(leaflet, max_reading_age))
    for paragraph, _ in _prose(leaflet.blocks):
        for sentence in split_sentences(plain_text(paragraph.inlines)):
            count = word_count(sentence)
            if count > MAX_SENTENCE_WORDS:
                opening = " ".join(sentence.split()[:8]) if len(sentence.split()) > 1 else sentence[:20]
                found.append(Problem(path, paragraph.line, f"warning: a sentence of {count} words (over {MAX_SENTENCE_WORDS}): "
                                                           f"'{opening} …'; split it into shorter sentences"))
    for image in (b for b in walk(leaflet.blocks) if isinstance(b, Image)):
        alt = image.alt.strip()
        if alt.lower().rstrip(".") in GENERIC_ALT or FILE_NAME_ALT.fullmatch(alt):
            found.append(Problem(path, image.line, f"warning: alt text '{alt}' does not say what the picture shows; "
                                                   "describe it for someone who cannot see it"))
    return sorted(found, key=lambda p: p.line)


def _reading_age_warnings(leaflet: Leaflet, limit: float) -> list[Problem]:
    age = reading_age(_sentences_text(leaflet.blocks))
    if age is None or age <= limit:
        return []
    hardest = ""
    sections = []
    for section in leaflet.sections():
        section_age = reading_age(_sentences_text(section.blocks))
        if section_age is not None and section.heading is not None:
            sections.append((section_age, section.heading))
    if sections:
        section_age, heading = max(sections, key=lambda pair: pair[0])
        if section_age > limit:
            hardest = f" (hardest section: '{heading.text}' on line {heading.line}, reading age about {round(section_age)})"
    first_line = next((b.line for b in leaflet.blocks if not isinstance(b, Heading)), leaflet.blocks[0].line)
    return [Problem(
        leaflet.source, first_line,
        f"warning: reading age about {round(age)}, over {limit:g}; NHS guidance aims for 9 to 11: "
        f"use shorter sentences and everyday words{hardest}",
    )]
