"""The document model every reader produces and every renderer consumes.

A `Leaflet` is its metadata plus a flat sequence of blocks (headings, paragraphs,
lists, tables, callouts, images) built from inline spans (text, bold, links).
Nothing here knows about Markdown, PDF, Word or audio.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

MONTH_NAMES = tuple(calendar.month_name)[1:]


@dataclass(frozen=True, order=True)
class ReviewDate:
    """A review date given to the month (``2025-06``) or to the day (``2025-06-30``)."""

    year: int
    month: int
    day: int | None = None

    @property
    def display(self) -> str:
        """The date as people read it on a leaflet: ``June 2025``."""
        return f"{MONTH_NAMES[self.month - 1]} {self.year}"

    @property
    def iso(self) -> str:
        """``2025-06`` or ``2025-06-30``, as precise as the source was."""
        text = f"{self.year:04d}-{self.month:02d}"
        return text if self.day is None else f"{text}-{self.day:02d}"

    @classmethod
    def from_iso(cls, text: str) -> ReviewDate:
        """The date back from its ``iso`` form (as kept in the manifest); ValueError if it isn't one."""
        parts = [int(part) for part in str(text).split("-")]
        if len(parts) not in (2, 3):
            raise ValueError(f"'{text}' is not YYYY-MM or YYYY-MM-DD")
        dt.date(parts[0], parts[1], parts[2] if len(parts) == 3 else 1)  # raises ValueError for an impossible date
        return cls(*parts)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, self.day or 1)

    @property
    def deadline(self) -> dt.date:
        """The last day the date covers: the day itself, or the month's last day."""
        if self.day is not None:
            return dt.date(self.year, self.month, self.day)
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


DUE_SOON_DAYS = 90


@lru_cache(maxsize=4096)
def judged(iso: str, today: dt.date) -> tuple[ReviewDate, str]:
    """``ReviewDate.from_iso(iso)`` and its review_status, remembered: a library of thousands holds
    few dates. Raises ValueError (TypeError for a value that is no string) as from_iso does."""
    next_review = ReviewDate.from_iso(iso)
    return next_review, review_status(next_review, today)


def review_status(next_review: ReviewDate, today: dt.date) -> str:
    """``overdue`` once the review date has passed, ``due-soon`` within 90 days, else ``ok``."""
    deadline = next_review.deadline
    if today > deadline:
        return "overdue"
    if (deadline - today).days <= DUE_SOON_DAYS:
        return "due-soon"
    return "ok"


def checksum(raw: bytes) -> str:
    """A source's fingerprint: the SHA-256 of its bytes (Leaflet.checksum, and the build state's)."""
    return hashlib.sha256(raw).hexdigest()


DEFAULT_LANGUAGE = "en-GB"  # a leaflet whose front matter and file name name no language


@dataclass(frozen=True)
class Meta:
    title: str
    resource_number: str
    last_reviewed: ReviewDate
    next_review: ReviewDate
    language: str = DEFAULT_LANGUAGE
    subtitle: str | None = None
    department: str | None = None
    do_not_translate: tuple[str, ...] = ()  # terms translators must leave as they are


# Inline spans -------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str
    kind = "text"


@dataclass(frozen=True)
class Bold:
    children: tuple[Inline, ...]
    kind = "bold"


@dataclass(frozen=True)
class Link:
    href: str
    children: tuple[Inline, ...]
    kind = "link"


Inline = Text | Bold | Link


def plain_text(spans: tuple[Inline, ...]) -> str:
    """The words of some inline spans, without formatting."""
    return "".join(s.text if isinstance(s, Text) else plain_text(s.children) for s in spans)


# Blocks -------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int  # 2 for a section, 3 for a subsection
    inlines: tuple[Inline, ...]
    line: int = 0
    kind = "heading"

    @property
    def text(self) -> str:
        return plain_text(self.inlines)


@dataclass(frozen=True)
class Paragraph:
    inlines: tuple[Inline, ...]
    line: int = 0
    kind = "paragraph"


@dataclass(frozen=True)
class ListItem:
    blocks: tuple[Block, ...]  # paragraphs and nested lists


@dataclass(frozen=True)
class ListBlock:
    ordered: bool
    items: tuple[ListItem, ...]
    start: int = 1
    line: int = 0
    kind = "list"


@dataclass(frozen=True)
class Table:
    header: tuple[tuple[Inline, ...], ...]
    rows: tuple[tuple[tuple[Inline, ...], ...], ...]
    line: int = 0
    kind = "table"


@dataclass(frozen=True)
class Callout:
    """Something the reader must not miss (a ``>`` blockquote in the source)."""

    blocks: tuple[Block, ...]
    line: int = 0
    kind = "callout"

    @property
    def says_important(self) -> bool:
        """Whether its text opens with "Important" already, so no label or announcement is added."""
        first = next((block for block in self.blocks if isinstance(block, Paragraph)), None)
        return first is not None and re.match(r"\W*important\b", plain_text(first.inlines), re.I) is not None


@dataclass(frozen=True)
class Image:
    path: Path  # absolute, checked to lie inside the source folder
    alt: str
    line: int = 0
    kind = "image"


Block = Heading | Paragraph | ListBlock | Table | Callout | Image


def walk(blocks: tuple[Block, ...]) -> Iterator[Block]:
    """Every block in reading order, including those inside callouts and list items."""
    for block in blocks:
        yield block
        if isinstance(block, Callout):
            yield from walk(block.blocks)
        elif isinstance(block, ListBlock):
            for item in block.items:
                yield from walk(item.blocks)


@dataclass(frozen=True)
class Section:
    """A ``##`` heading and the blocks up to the next one; the heading is None for the opening."""

    heading: Heading | None
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Leaflet:
    meta: Meta
    blocks: tuple[Block, ...]
    source: Path
    slug: str
    checksum: str = field(default="", compare=False)
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False)  # front-matter key -> line

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    @cached_property  # asked for by every output's file name and every link between them
    def stem(self) -> str:
        """The base of every output file name: the slug, plus the language for translations."""
        return self.slug if self.is_primary else f"{self.slug}.{self.meta.language}"

    @cached_property
    def is_primary(self) -> bool:
        return self.source.name == f"{self.slug}.md"

    def sections(self) -> Iterator[Section]:
        """The opening text (if any), then one Section per ``##`` heading."""
        heading: Heading | None = None
        blocks: list[Block] = []
        for block in self.blocks:
            if isinstance(block, Heading) and block.level == 2:
                if heading is not None or blocks:
                    yield Section(heading, tuple(blocks))
                heading, blocks = block, []
            else:
                blocks.append(block)
        if heading is not None or blocks:
            yield Section(heading, tuple(blocks))
