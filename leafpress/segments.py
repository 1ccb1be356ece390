"""A leaflet as translators see it: its text as a sequence of styled paragraphs (segments),
with the words that must stay as they are (phone numbers, addresses, listed terms) marked.

The Word file, the translation brief, the XLIFF file and the import of a translation all
walk the leaflet through `segments`, so they agree on what a segment is and in what order.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .model import Block, Callout, Heading, Image, Inline, Leaflet, ListBlock, Meta, Paragraph, Table, Text, plain_text

TITLE_STYLE = "Title"
SUBTITLE_STYLE = "Subtitle"
BODY_STYLE = "Normal"
HEADING_STYLES = {2: "Heading 1", 3: "Heading 2"}
CALLOUT_STYLE = "Callout"
TABLE_HEADING_STYLE = "Table Heading"
TABLE_TEXT_STYLE = "Table Text"
IMAGE_DESCRIPTION_STYLE = "Image Description"
MAX_LIST_DEPTH = 3

WEB_RE = r"(?:https?://|www\.)[^\s<>]*[^\s<>.,;:!?)\]'\"’”]"
EMAIL_RE = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# UK numbers (020 7188 2673, 0114 271 1900, +44 20 7188 2673) and the short emergency and NHS numbers;
# told from words by Latin letters and digits, not \w: Chinese writes "电话0114 271 1900" with no space.
PHONE_RE = r"(?<![A-Za-z0-9_/])(?:(?:\+44\s?(?:\(0\)\s?)?|0)\d{2,4}(?:[ -]?\d{3,4}){1,2}|999|111|112)(?![A-Za-z0-9_/]|[.,]\d)"
WORD_RE = re.compile(r"\w+(?:['’-]\w+)*")


def list_style(ordered: bool, depth: int) -> str:
    """``List Number``/``List Bullet`` for the first level, ``… 2`` and ``… 3`` below it."""
    base = "List Number" if ordered else "List Bullet"
    depth = min(depth, MAX_LIST_DEPTH)
    return base if depth == 1 else f"{base} {depth}"


def list_continue_style(depth: int) -> str:
    """A list item's second and later paragraphs."""
    depth = min(depth, MAX_LIST_DEPTH)
    return "List Continue" if depth == 1 else f"List Continue {depth}"


@dataclass(frozen=True)
class Segment:
    """One paragraph a translator translates, in the Word style it is written with.

    ``owner`` is the block the text belongs to; ``cell`` is (row, column) for table text
    (row 0 is the header); ``item_of`` is the list when this paragraph starts a list item.
    """

    style: str
    inlines: tuple[Inline, ...]
    line: int
    owner: Block | None = None
    cell: tuple[int, int] | None = None
    item_of: ListBlock | None = None

    @property
    def text(self) -> str:
        return plain_text(self.inlines)


Visit = Callable[[Segment], tuple[Inline, ...]]


def segments(leaflet: Leaflet) -> list[Segment]:
    """Every segment of the leaflet, in document order: title, subtitle, then the body."""
    found: list[Segment] = []

    def collect(segment: Segment) -> tuple[Inline, ...]:
        found.append(segment)
        return segment.inlines

    _map_leaflet(leaflet.meta, leaflet.blocks, collect)
    return found


def with_translation(leaflet: Leaflet, texts: Sequence[tuple[Inline, ...]], language: str, source: Path) -> Leaflet:
    """The leaflet with each segment's text replaced by ``texts`` (in `segments` order); the
    structure, links' addresses, images, resource number and review dates stay the source's."""
    if len(texts) != len(segments(leaflet)):
        raise ValueError(f"{len(texts)} translated segments for {len(segments(leaflet))} in the source")
    queue: Iterator[tuple[Inline, ...]] = iter(texts)
    meta, blocks = _map_leaflet(leaflet.meta, leaflet.blocks, lambda segment: next(queue))
    meta = dataclasses.replace(meta, language=language)
    return dataclasses.replace(leaflet, meta=meta, blocks=blocks, source=source, checksum="", key_lines={})


def _map_leaflet(meta: Meta, blocks: tuple[Block, ...], visit: Visit) -> tuple[Meta, tuple[Block, ...]]:
    title = plain_text(visit(Segment(TITLE_STYLE, (Text(meta.title),), 0)))
    subtitle = plain_text(visit(Segment(SUBTITLE_STYLE, (Text(meta.subtitle),), 0))) if meta.subtitle else None
    mapped = _map_blocks(blocks, visit, list_depth=0, style=BODY_STYLE)
    return dataclasses.replace(meta, title=title, subtitle=subtitle), mapped


def _map_blocks(blocks: tuple[Block, ...], visit: Visit, list_depth: int, style: str) -> tuple[Block, ...]:
    """The one walk over the blocks: each text goes through ``visit`` and is replaced by its result."""
    mapped: list[Block] = []
    for block in blocks:
        if isinstance(block, Heading):
            mapped.append(dataclasses.replace(block, inlines=visit(Segment(HEADING_STYLES[block.level], block.inlines, block.line, block))))
        elif isinstance(block, Paragraph):
            mapped.append(dataclasses.replace(block, inlines=visit(Segment(style, block.inlines, block.line, block))))
        elif isinstance(block, ListBlock):
            mapped.append(_map_list(block, visit, list_depth + 1))
        elif isinstance(block, Callout):
            mapped.append(dataclasses.replace(block, blocks=_map_blocks(block.blocks, visit, list_depth, CALLOUT_STYLE)))
        elif isinstance(block, Table):
            mapped.append(_map_table(block, visit))
        elif isinstance(block, Image):
            alt = visit(Segment(IMAGE_DESCRIPTION_STYLE, (Text(block.alt),), block.line, block))
            mapped.append(dataclasses.replace(block, alt=plain_text(alt)))
    return tuple(mapped)


def _map_list(block: ListBlock, visit: Visit, depth: int) -> ListBlock:
    items = []
    for item in block.items:
        first, inner_blocks = True, []
        for inner in item.blocks:
            if isinstance(inner, Paragraph):
                style = list_style(block.ordered, depth) if first else list_continue_style(depth)
                segment = Segment(style, inner.inlines, inner.line or block.line, block, item_of=block if first else None)
                inner_blocks.append(dataclasses.replace(inner, inlines=visit(segment)))
                first = False
            else:
                inner_blocks.extend(_map_blocks((inner,), visit, depth, BODY_STYLE))
        items.append(dataclasses.replace(item, blocks=tuple(inner_blocks)))
    return dataclasses.replace(block, items=tuple(items))


def _map_table(table: Table, visit: Visit) -> Table:
    def row(cells: tuple[tuple[Inline, ...], ...], index: int, style: str) -> tuple[tuple[Inline, ...], ...]:
        line = table.line + (index + 1 if index else 0)  # one source line a row, after the header and its --- line
        return tuple(visit(Segment(style, cell, line, table, cell=(index, column))) for column, cell in enumerate(cells))

    header = row(table.header, 0, TABLE_HEADING_STYLE)
    rows = tuple(row(cells, index, TABLE_TEXT_STYLE) for index, cells in enumerate(table.rows, start=1))
    return dataclasses.replace(table, header=header, rows=rows)


# -- text that must not be translated ------------------------------------------------


def protected_pattern(meta: Meta) -> re.Pattern[str]:
    """Web and email addresses, phone numbers, the resource number and the source's own terms."""
    literals = sorted({meta.resource_number, *meta.do_not_translate} - {""}, key=len, reverse=True)
    terms = [rf"(?<!\w){re.escape(term)}(?!\w)" for term in literals]
    return re.compile("|".join([WEB_RE, EMAIL_RE, *terms, PHONE_RE]))


def split_protected(text: str, pattern: re.Pattern[str]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, must not be translated) pairs, in order, none empty."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            pieces.append((text[position : match.start()], False))
        pieces.append((match.group(), True))
        position = match.end()
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def protected_texts(inlines: tuple[Inline, ...], pattern: re.Pattern[str]) -> list[str]:
    """The pieces of some text that must reach the translation unchanged."""
    return [piece for piece, protected in split_protected(plain_text(inlines), pattern) if protected]


def translatable_words(leaflet: Leaflet) -> int:
    """How many words a translator translates: every segment, less the protected text."""
    pattern = protected_pattern(leaflet.meta)
    return sum(
        len(WORD_RE.findall(piece))
        for segment in segments(leaflet)
        for piece, protected in split_protected(segment.text, pattern)
        if not protected
    )


def normalise_spaces(text: str) -> str:
    """One space wherever the text has tabs, line breaks or runs of spaces (they break segmentation)."""
    return re.sub(r"[ \t\r\n]+", " ", text)
