"""Braille: the leaflet as an embosser-ready BRF file, translated by liblouis and paginated here.

liblouis translates text (Unified English Braille grade 2 for English by default; a translated
leaflet uses its language's table, named in its catalogue) but leaves the page to us: pages
of ``braille.cells_per_line`` cells by ``braille.lines_per_page`` lines ended by form feeds,
the UKAAF page information line (the braille page number at the right end of each page's
first line), words never split, the title centred on page 1 with the stamp and organisation
under it, a contents list when there is more than one page, section headings centred after a
blank line and subsections at the margin, list items with their bullets or numbers, tables
read row by row after their column headers (braille tables 40 cells wide do not fit), links
with their addresses, bold as UEB bold indicators, callouts after the word for "Important",
pictures by their alt text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from ..languages.catalogue import Catalogue, catalogue_for
from ..model import Block, Bold, Callout, Heading, Image, Inline, Leaflet, Link, ListBlock, Paragraph, Table, Text, plain_text
from ..settings import BrailleOptions, Settings
from ..templates import printable_url
from .base import Renderer

DISPLAY_TABLE = "en-us-brf.dis"  # North American ASCII braille, what embossers take as BRF; first, or the output depends on the table
BRF_CHARACTERS = frozenset(chr(code) for code in range(0x20, 0x60))
NOT_BRF = re.compile("[^\x20-\x5f\r\n\f]")  # anything but BRF's 64 cells and the line and page ends
# Unicode braille cells in ASCII braille order (the cell with dots n is U+2800 + n): for previews.
ASCII_BRAILLE = " A1B'K2L@CIF/MSP\"E3H9O6R^DJG>NTQ,*5<-U8V.%[$+X!&;:4\\0Z7(_?W]#Y)="
MIN_GAP = 3  # blank cells before the page number on a page information line (UKAAF)


class Louis:
    """The braille engine: liblouis, translating a line of text (with bold marked) to BRF and back."""

    def __init__(self, table: str):
        try:
            import louis
        except ImportError as err:
            raise RenderError("liblouis is not installed; run make (it installs liblouis-data and python3-louis)") from err
        self._louis = louis
        self._plain: dict[str, str] = {}  # text without bold -> its braille, for this leaflet
        self.tables = [DISPLAY_TABLE, *table.split(",")]
        try:
            self.spaced_units = _spaced_units(self)
        except RuntimeError as err:
            raise RenderError(f"the braille table '{table}' cannot be loaded ({err}); name a table of /usr/share/liblouis/tables") from err

    def translate(self, text: str, bold: list[bool] | None = None) -> str:
        if not (bold and any(bold)):  # headings and page numbers come back on every pass of the pagination
            if text not in self._plain:
                self._plain[text] = self._translate(text, None)
            return self._plain[text]
        return self._translate(text, bold)

    def _translate(self, text: str, bold: list[bool] | None) -> str:
        if self.spaced_units:  # "1g" as "1 g", each bold mark kept with its character
            bold = bold or [False] * len(text)
            for index in reversed([i for i in range(1, len(text)) if text[i - 1].isdigit() and text[i].isalpha()]):
                text, bold = f"{text[:index]} {text[index:]}", [*bold[:index], bold[index], *bold[index:]]
        typeform = [self._louis.bold if b else self._louis.plain_text for b in bold] if bold and any(bold) else None
        return self._louis.translateString(self.tables, text, typeform=typeform).upper()

    def translate_plain(self, text: str) -> str:
        return self._louis.translateString(self.tables, text)

    def back_translate(self, brf: str) -> str:
        return self._louis.backTranslateString(self.tables, brf)


_SPACED_UNITS: dict[tuple[str, ...], bool] = {}


def _spaced_units(engine: Louis) -> bool:
    """Whether a table marks no letter after a number (Polish: "1g" reads back as "17"), so a space must
    part them; asked of the table itself, once per process."""
    key = tuple(engine.tables)
    if key not in _SPACED_UNITS:
        _SPACED_UNITS[key] = engine.back_translate(engine.translate_plain("1g")) != "1g"
    return _SPACED_UNITS[key]


def table_for(leaflet: Leaflet, settings: Settings, labels: Catalogue) -> str:
    """The liblouis table list of the leaflet's language: the settings' for English leaflets, else its catalogue's."""
    table = labels.braille_table(settings.braille.table)
    if not table:
        raise RenderError(f"there is no braille table for language '{leaflet.meta.language}'; name a liblouis table as braille.table "
                          f"in its catalogue (layouts/languages/), once a braille reader of the language has checked it")
    return table


@dataclass
class _Line:
    text: str
    keep_with_next: bool = False  # a heading is never the last line of a page


class BrailleWriter:
    """Lays a leaflet out in braille pages."""

    def __init__(self, leaflet: Leaflet, settings: Settings, engine: Louis | None = None):
        self.leaflet = leaflet
        self.settings = settings
        self.options: BrailleOptions = settings.braille
        self.labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
        self.engine = engine or Louis(table_for(leaflet, settings, self.labels))
        self.width = self.options.cells_per_line
        self.body_lines = self.options.lines_per_page - 1  # the first line of each page carries its number

    # -- words to lines -----------------------------------------------------------------

    def wrap(self, brf: str, indent: int = 0, runover: int | None = None) -> list[str]:
        """Braille filled into lines at its spaces, the first line from cell ``indent + 1``, the
        others from ``runover + 1``; a word wider than a whole line (a long address) is cut, nothing else."""
        lines: list[str] = []
        width, margin, after = self.width, indent, indent if runover is None else runover
        words: list[str] = []
        used = 0  # cells taken on the current line by its words and the spaces between them
        for word in brf.split():
            while word:
                room = width - margin - (used + 1 if words else 0)
                if len(word) <= room:
                    used += len(word) + (1 if words else 0)
                    words.append(word)
                    word = ""
                elif words:  # the word starts the next line
                    lines.append(" " * margin + " ".join(words))
                    words, used, margin = [], 0, after
                else:
                    lines.append(" " * margin + word[:room])
                    word, margin = word[room:], after
        if words:
            lines.append(" " * margin + " ".join(words))
        return lines

    def centred(self, brf: str) -> list[str]:
        return [" " * ((self.width - len(line.strip())) // 2) + line.strip() for line in self.wrap(brf)]

    def inlines(self, spans: tuple[Inline, ...]) -> str:
        """The spans in braille: bold marked for liblouis, a link followed by its address."""
        text: list[str] = []
        bold: list[bool] = []

        def add(spans: tuple[Inline, ...], strong: bool) -> None:
            for span in spans:
                if isinstance(span, Text):
                    text.append(span.text)
                    bold.extend([strong] * len(span.text))
                elif isinstance(span, Bold):
                    add(span.children, True)
                elif isinstance(span, Link):
                    add(span.children, strong)
                    address = printable_url(span.href)
                    if address != plain_text(span.children):
                        text.append(f" ({address})")
                        bold.extend([False] * (len(address) + 3))

        add(spans, False)
        return self.engine.translate("".join(text), bold)

    # -- the leaflet ----------------------------------------------------------------------

    def title_page(self) -> list[_Line]:
        meta, org = self.leaflet.meta, self.settings.organisation
        lines = [_Line(line) for line in self.centred(self.engine.translate(meta.title))]
        if meta.subtitle:
            lines += [_Line(line) for line in self.centred(self.engine.translate(meta.subtitle))]
        lines.append(_Line(""))
        for part in self.labels.stamp_parts(meta):
            lines += [_Line(line) for line in self.wrap(self.engine.translate(part), 0, 2)]
        lines += [_Line(line) for line in self.wrap(self.engine.translate(org.name + (f", {meta.department}" if meta.department else "")))]
        return lines

    def body(self) -> Iterator[tuple[Heading | None, _Line]]:
        """Every line of the body, each with the section heading it belongs to."""
        section: Heading | None = None
        for block in self.leaflet.blocks:
            if isinstance(block, Heading) and block.level == 2:
                section = block
            for line in self.block(block, 0):
                yield section, line

    def block(self, block: Block, depth: int) -> list[_Line]:
        indent = 2 * depth
        if isinstance(block, Heading):
            brf = self.inlines(block.inlines)
            lines = self.centred(brf) if block.level == 2 else self.wrap(brf, indent)
            return [_Line(""), *(_Line(line, keep_with_next=True) for line in lines)]
        if isinstance(block, Paragraph):
            return [_Line(line) for line in self.wrap(self.inlines(block.inlines), indent + 2, indent)]  # paragraphs start in cell 3
        if isinstance(block, ListBlock):
            return self.list(block, depth)
        if isinstance(block, Table):
            return self.table(block, indent)
        if isinstance(block, Callout):
            important = self.engine.translate(self.labels.text("print.important"))
            label = [] if block.says_important else [_Line(line) for line in self.wrap(important, indent)]
            return label + [line for inner in block.blocks for line in self.block(inner, depth)]
        if isinstance(block, Image):  # a transcriber's note, within the language's note indicators
            note = self.engine.translate(self.labels.text("audio.picture", description=block.alt))
            note = f"{self.labels.entries.get('braille.note_open', '')}{note}{self.labels.entries.get('braille.note_close', '')}"
            return [_Line(line) for line in self.wrap(note, indent + 2, indent)]
        return []

    def list(self, block: ListBlock, depth: int) -> list[_Line]:
        """Items at the margin of their level with their bullet or number, runover lines two cells in."""
        lines: list[_Line] = []
        indent = 2 * depth
        for number, item in enumerate(block.items, start=block.start):
            marker = f"{number}. " if block.ordered else "• "
            first = True
            for inner in item.blocks:
                if isinstance(inner, Paragraph):
                    text = self.inlines(((Text(marker),) if first else ()) + inner.inlines)
                    lines += [_Line(line) for line in self.wrap(text, indent, indent + 2)]
                    first = False
                else:
                    lines += self.block(inner, depth + 1)
        return lines

    def table(self, table: Table, indent: int) -> list[_Line]:
        """Row by row, each cell after its column header, as the audio reads it."""
        lines: list[_Line] = []
        headers = [plain_text(cell) for cell in table.header]
        for row in table.rows:
            parts = []
            for column, cell in enumerate(row):
                value = plain_text(cell).strip()
                if value:
                    label = headers[column] if column < len(headers) else ""
                    parts.append(f"{label}: {value}" if label else value)
            if parts:
                lines += [_Line(line) for line in self.wrap(self.engine.translate(". ".join(parts) + "."), indent, indent + 2)]
        return lines

    # -- pages ----------------------------------------------------------------------------

    def pages(self) -> list[list[str]]:
        """The leaflet in pages, with a contents list on page 1 when there is more than one page."""
        title = self.title_page()
        body = list(self.body())
        contents: list[_Line] = []
        for _ in range(4):  # the contents list moves the sections it lists; settle their page numbers
            pages, starts = self._paginate(title + contents, body)
            if len(pages) == 1:
                return pages
            wanted = self._contents(starts)
            if wanted == contents:
                return pages
            contents = wanted
        return pages

    def _contents(self, starts: Mapping[str, int]) -> list[_Line]:
        lines = [_Line(""), *(_Line(line) for line in self.centred(self.engine.translate(self.labels.text("audio.contents"))))]
        for heading, page in starts.items():
            number = self.engine.translate(str(page))
            entry = self.wrap(self.engine.translate(heading), 0, 2)
            last = entry[-1]
            if len(last) + MIN_GAP + len(number) > self.width:
                entry.append("")
                last = ""
            entry[-1] = last + " " * (self.width - len(last) - len(number)) + number
            lines += [_Line(line) for line in entry]
        return lines

    def _paginate(self, opening: list[_Line], body: list[tuple[Heading | None, _Line]]) -> tuple[list[list[str]], dict[str, int]]:
        pages: list[list[str]] = [[]]
        starts: dict[str, int] = {}
        flow = [(None, line) for line in opening] + body
        for index, (section, line) in enumerate(flow):
            page = pages[-1]
            room = self.body_lines - len(page)
            if room == 0 or (line.keep_with_next and room <= 1) or (line.text == "" and room <= 2 and index + 1 < len(flow)):
                pages.append([])
                page = pages[-1]
                if line.text == "":
                    continue  # no blank line at the top of a page
            page.append(line.text)
            if line.keep_with_next and section is not None and (heading := section.text) not in starts:  # heading lines only
                starts[heading] = len(pages)
        return [self._numbered(page, number) for number, page in enumerate(pages, start=1)], starts

    def _numbered(self, page: list[str], number: int) -> list[str]:
        """The page information line (the braille page number at the right end) and the page's lines."""
        brf = self.engine.translate(str(number))
        return [" " * (self.width - len(brf)) + brf, *page]

    def brf(self) -> str:
        """The whole file: CR LF line ends, each page ended by a form feed."""
        return "".join("\r\n".join(line.rstrip() for line in page) + "\r\n\f" for page in self.pages())


def unicode_braille(brf: str) -> str:
    """BRF as Unicode braille cells (⠠⠏⠓…), for sighted staff to look a page over; line ends and page breaks kept."""
    return "".join(chr(0x2800 + ASCII_BRAILLE.index(char)) if char in BRF_CHARACTERS else char for char in brf.upper())


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    text = BrailleWriter(leaflet, settings).brf()
    if stray := sorted(set(NOT_BRF.findall(text))):
        raise RenderError(f"the braille table made characters BRF cannot hold ({''.join(stray)!r}); choose a 6-dot table for braille.table")
    targets["braille"].write_bytes(text.encode("ascii"))


RENDERER = Renderer(name="braille", outputs={"braille": ".brf"}, render=render)
