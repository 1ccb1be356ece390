"""The Word file for translation services: formatting only through Word styles, no text boxes.

Headings, lists, tables and callouts each map to a named style, bold to the ``Strong``
character style, so translation tools segment the text cleanly and keep the structure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from ..model import Block, Bold, Callout, Heading, Image, Inline, Leaflet, Link, ListBlock, Paragraph, Table, Text, plain_text
from ..settings import Settings
from .base import Renderer

HEADING_STYLES = {2: "Heading 1", 3: "Heading 2"}
CALLOUT_STYLE = "Callout"
MAX_LIST_DEPTH = 3
IMAGE_WIDTH_CM = 12


def _list_style(ordered: bool, depth: int) -> str:
    base = "List Number" if ordered else "List Bullet"
    depth = min(depth, MAX_LIST_DEPTH)
    return base if depth == 1 else f"{base} {depth}"


class _DocxWriter:
    def __init__(self, leaflet: Leaflet, settings: Settings):
        import docx

        self.leaflet = leaflet
        self.settings = settings
        self.doc = docx.Document()
        self._setup_styles()

    # -- styles ------------------------------------------------------------

    def _setup_styles(self) -> None:
        from docx.enum.style import WD_STYLE_TYPE
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt, RGBColor

        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.name = self.settings.docx.font
        normal.font.size = Pt(self.settings.docx.body_size)
        # The language lives on the styles, so spell-checkers and translation tools know it.
        rpr = normal.element.get_or_add_rPr()
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), self.leaflet.meta.language)
        for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3"):
            styles[name].font.name = self.settings.docx.font
        if CALLOUT_STYLE not in [s.name for s in styles]:
            callout = styles.add_style(CALLOUT_STYLE, WD_STYLE_TYPE.PARAGRAPH)
            callout.base_style = normal
            callout.quick_style = True
            callout.paragraph_format.left_indent = Pt(18)
            callout.font.bold = True
            callout.font.color.rgb = RGBColor.from_string(self.settings.colours.text.lstrip("#"))
            ppr = callout.element.get_or_add_pPr()
            borders = OxmlElement("w:pBdr")
            left = OxmlElement("w:left")
            for attr, value in (("val", "single"), ("sz", "24"), ("space", "8"),
                                ("color", self.settings.colours.callout_border.lstrip("#"))):
                left.set(qn(f"w:{attr}"), value)
            borders.append(left)
            ppr.append(borders)
        if "Hyperlink" not in [s.name for s in styles]:
            link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
            link.font.underline = True
            link.font.color.rgb = RGBColor.from_string(self.settings.colours.brand.lstrip("#"))

    # -- content -----------------------------------------------------------

    def write(self, target: Path) -> None:
        meta = self.leaflet.meta
        self.doc.add_paragraph(meta.title, style="Title")
        if meta.subtitle:
            self.doc.add_paragraph(meta.subtitle, style="Subtitle")
        for block in self.leaflet.blocks:
            self._block(block, list_depth=0, style=None)
        self._footer()
        self._properties()
        self.doc.save(str(target))

    def _block(self, block: Block, list_depth: int, style: str | None) -> None:
        if isinstance(block, Heading):
            self._paragraph(block.inlines, HEADING_STYLES[block.level])
        elif isinstance(block, Paragraph):
            self._paragraph(block.inlines, style or "Normal")
        elif isinstance(block, ListBlock):
            self._list(block, list_depth + 1)
        elif isinstance(block, Callout):
            for inner in block.blocks:
                self._block(inner, list_depth, CALLOUT_STYLE)
        elif isinstance(block, Table):
            self._table(block)
        elif isinstance(block, Image):
            self._image(block)

    def _list(self, block: ListBlock, depth: int) -> None:
        style = _list_style(block.ordered, depth)
        num_id = self._restart_numbering(style, block.start) if block.ordered else None
        for item in block.items:
            first = True
            for inner in item.blocks:
                if isinstance(inner, Paragraph):
                    para_style = style if first else ("List Continue" if depth == 1 else f"List Continue {min(depth, 3)}")
                    paragraph = self._paragraph(inner.inlines, para_style)
                    if first and num_id is not None:
                        self._set_num_id(paragraph, num_id)
                    first = False
                else:
                    self._block(inner, depth, None)

    def _restart_numbering(self, style_name: str, start: int) -> int:
        """A new numbering instance for one ordered list, so each list counts from its start."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        style = self.doc.styles[style_name]
        num_pr = style.element.pPr.numPr if style.element.pPr is not None else None
        numbering = self.doc.part.numbering_part.element
        if num_pr is None:
            return 0
        style_num = numbering.num_having_numId(num_pr.numId.val)
        abstract_id = style_num.abstractNumId.val
        num = numbering.add_num(abstract_id)
        override = OxmlElement("w:lvlOverride")
        level = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        override.set(qn("w:ilvl"), str(level))
        start_override = OxmlElement("w:startOverride")
        start_override.set(qn("w:val"), str(start))
        override.append(start_override)
        num.append(override)
        return num.numId

    @staticmethod
    def _set_num_id(paragraph, num_id: int) -> None:
        if num_id:
            paragraph._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = num_id

    def _paragraph(self, spans: tuple[Inline, ...], style: str):
        paragraph = self.doc.add_paragraph(style=style)
        self._runs(paragraph, spans, char_style=None)
        return paragraph

    def _runs(self, paragraph, spans: tuple[Inline, ...], char_style: str | None) -> None:
        for span in spans:
            if isinstance(span, Text):
                paragraph.add_run(span.text, style=char_style)
            elif isinstance(span, Bold):
                self._runs(paragraph, span.children, "Strong")
            elif isinstance(span, Link):
                self._hyperlink(paragraph, span)

    def _hyperlink(self, paragraph, link: Link) -> None:
        from docx.opc.constants import RELATIONSHIP_TYPE
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        rel_id = paragraph.part.relate_to(link.href, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        element = OxmlElement("w:hyperlink")
        element.set(qn("r:id"), rel_id)
        paragraph._p.append(element)
        run = OxmlElement("w:r")
        rpr = OxmlElement("w:rPr")
        rstyle = OxmlElement("w:rStyle")
        rstyle.set(qn("w:val"), self.doc.styles["Hyperlink"].style_id)
        rpr.append(rstyle)
        run.append(rpr)
        text = OxmlElement("w:t")
        text.text = plain_text(link.children)
        text.set(qn("xml:space"), "preserve")
        run.append(text)
        element.append(run)

    def _table(self, table: Table) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        columns = max(len(table.header), *(len(r) for r in table.rows)) if table.rows else len(table.header)
        word_table = self.doc.add_table(rows=1 + len(table.rows), cols=columns)
        word_table.style = self.doc.styles["Table Grid"]
        for row_index, cells in enumerate((table.header, *table.rows)):
            row = word_table.rows[row_index]
            for col_index, spans in enumerate(cells):
                paragraph = row.cells[col_index].paragraphs[0]
                self._runs(paragraph, spans, "Strong" if row_index == 0 else None)
        header_props = word_table.rows[0]._tr.get_or_add_trPr()
        repeat = OxmlElement("w:tblHeader")
        repeat.set(qn("w:val"), "true")
        header_props.append(repeat)

    def _image(self, image: Image) -> None:
        from docx.shared import Cm

        self.doc.add_picture(str(image.path), width=Cm(IMAGE_WIDTH_CM))
        inline = self.doc.inline_shapes[-1]._inline
        inline.docPr.set("descr", image.alt)

    def _footer(self) -> None:
        footer = self.doc.sections[0].footer
        footer.paragraphs[0].text = self.leaflet.meta.stamp
        footer.paragraphs[0].style = self.doc.styles["Footer"]

    def _properties(self) -> None:
        meta = self.leaflet.meta
        props = self.doc.core_properties
        props.title = meta.title
        props.subject = f"{meta.title} (resource number {meta.resource_number})"
        props.keywords = f"{meta.resource_number}; patient information" + (f"; {meta.department}" if meta.department else "")
        props.author = self.settings.organisation.name
        props.last_modified_by = self.settings.organisation.name
        props.comments = meta.stamp
        props.language = meta.language
        props.category = "Patient information"
        props.revision = 1
        reviewed = dt.datetime.combine(meta.last_reviewed.first_day, dt.time())
        props.created = reviewed
        props.modified = reviewed


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    _DocxWriter(leaflet, settings).write(targets["docx"])


RENDERER = Renderer(name="docx", outputs={"docx": ".docx"}, render=render)
