"""The Word file for translation services, with its translation brief and XLIFF file beside it.

Every paragraph has a named style (``segments`` decides which) and every run at most a
character style: ``Strong`` for bold, ``Hyperlink`` for link text and the do-not-translate
style for phone numbers, addresses, the resource number and the source's listed terms.
No direct formatting, text boxes, tabs or manual line breaks, so translation tools segment
the text cleanly. Custom document properties tie a returned translation to its source.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from .. import brief, xliff
from ..languages.catalogue import catalogue_for
from ..languages.tags import language_info
from ..model import Bold, Image, Inline, Leaflet, Link, ListBlock, Table, Text, plain_text
from ..segments import (
    CALLOUT_STYLE,
    IMAGE_DESCRIPTION_STYLE,
    TABLE_HEADING_STYLE,
    TABLE_TEXT_STYLE,
    Segment,
    normalise_spaces,
    protected_pattern,
    segments,
    split_protected,
)
from ..settings import Settings
from .base import ProcessCache, Renderer

FIGURE_STYLE = "Figure"
IMAGE_WIDTH_CM = 12
CUSTOM_PROPERTIES_URI = "/docProps/custom.xml"
CUSTOM_PROPERTIES_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the id Word gives user-defined properties
# Scripts whose text Word reads through the East Asian font slot (right-to-left ones use the complex-script slot).
EAST_ASIAN_SCRIPTS = {"Hans", "Hant", "Hani", "Jpan", "Kore"}
# The styled empty document for each (Word settings, colours, language), made once per process
# (setting up the styles took as long as writing a leaflet's text), with its style ids.
_TEMPLATES = ProcessCache()


def custom_properties(leaflet: Leaflet) -> dict[str, str]:
    """The properties that let a returned translation be matched to its source."""
    meta = leaflet.meta
    return {
        "resource_number": meta.resource_number,
        "last_reviewed": meta.last_reviewed.iso,
        "next_review": meta.next_review.iso,
        "source_language": meta.language,
        "source_file": leaflet.source.name,
        "source_checksum": f"sha256:{leaflet.checksum}",
    }


class _DocxWriter:
    def __init__(self, leaflet: Leaflet, settings: Settings):
        import docx

        self.leaflet = leaflet
        self.settings = settings
        self.stamp = catalogue_for(leaflet.meta.language, settings.layouts_dir).stamp(leaflet.meta)
        self.info = language_info(leaflet.meta.language)
        self.protected = protected_pattern(leaflet.meta)
        self.do_not_translate = settings.docx.do_not_translate_style
        self.numbering: dict[int, int] = {}  # id() of an ordered ListBlock -> its numbering instance
        # Every leaflet starts from the styled template, the first one too, so the order in
        # which a process builds leaflets never changes a file.
        template, self._style_ids = _TEMPLATES.get((settings.docx, settings.colours, leaflet.meta.language), self._styled_template)
        self.doc = docx.Document(io.BytesIO(template))

    def _styled_template(self) -> tuple[bytes, dict[str, str | None]]:
        """The empty document with this leaflet's styles, saved, and the style ids found in it so far."""
        import docx

        self.doc = docx.Document()
        self._setup_styles()
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue(), {}

    # -- styles ------------------------------------------------------------

    def _setup_styles(self) -> None:
        from docx.enum.style import WD_STYLE_TYPE
        from docx.shared import Pt, RGBColor

        styles = self.doc.styles
        normal = styles["Normal"]
        normal.font.name = self.settings.docx.font
        normal.font.size = Pt(self.settings.docx.body_size)
        defaults = styles.element.find(_qn("w:docDefaults"))
        self._set_language(defaults.find(_qn("w:rPrDefault")).find(_qn("w:rPr")))
        self._set_language(normal.element.get_or_add_rPr())
        if self.info.rtl:  # paragraphs read right to left, in every style (Word and LibreOffice both honour it)
            for ppr in (_child(_child(defaults, "w:pPrDefault"), "w:pPr"), normal.element.get_or_add_pPr()):
                ppr.insert(0, _element("w:bidi"))
        for name in ("Title", "Subtitle", "Heading 1", "Heading 2", "Heading 3"):
            styles[name].font.name = self.settings.docx.font

        def paragraph_style(name: str):
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            style.base_style = normal
            style.quick_style = True
            return style

        callout = paragraph_style(CALLOUT_STYLE)
        callout.paragraph_format.left_indent = Pt(18)
        callout.font.bold = True
        callout.font.color.rgb = RGBColor.from_string(self.settings.colours.text.lstrip("#"))
        border = _element("w:left", val="single", sz="24", space="8", color=self.settings.colours.callout_border.lstrip("#"))
        borders = _element("w:pBdr")
        borders.append(border)
        callout.element.get_or_add_pPr().append(borders)

        table_heading = paragraph_style(TABLE_HEADING_STYLE)
        table_heading.font.bold = True
        for style in (table_heading, paragraph_style(TABLE_TEXT_STYLE)):
            style.paragraph_format.space_after = Pt(0)
        paragraph_style(FIGURE_STYLE).paragraph_format.keep_with_next = True
        paragraph_style(IMAGE_DESCRIPTION_STYLE).base_style = styles["Caption"]

        link = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        link.font.underline = True
        link.font.color.rgb = RGBColor.from_string(self.settings.colours.brand.lstrip("#"))
        keep = styles.add_style(self.do_not_translate, WD_STYLE_TYPE.CHARACTER)
        keep.quick_style = True
        keep.element.get_or_add_rPr().append(_element("w:noProof"))  # no spell-checking of numbers and addresses

    def _set_language(self, rpr) -> None:
        """The source language on a style's run properties, in the slot Word reads for its script."""
        lang = rpr.find(_qn("w:lang"))
        if lang is None:
            lang = _element("w:lang")
            rpr.append(lang)
        language = self.leaflet.meta.language
        lang.set(_qn("w:val"), language)
        if self.info.script in EAST_ASIAN_SCRIPTS:
            lang.set(_qn("w:eastAsia"), language)
        if self.info.rtl:
            lang.set(_qn("w:bidi"), language)
            fonts = rpr.find(_qn("w:rFonts"))
            if fonts is None:
                fonts = _element("w:rFonts")
                rpr.insert(0, fonts)
            fonts.set(_qn("w:cs"), self.settings.docx.font)  # the complex-script font, which right-to-left text is drawn in

    def _style_id(self, name: str | None, character: bool = False) -> str | None:
        """python-docx's own name-to-id lookup, done once per style: it scans every style of the
        document each time, which was half the time of writing a leaflet."""
        from docx.enum.style import WD_STYLE_TYPE

        if name is None:
            return None
        if name not in self._style_ids:
            kind = WD_STYLE_TYPE.CHARACTER if character else WD_STYLE_TYPE.PARAGRAPH
            self._style_ids[name] = self.doc.part.get_style_id(name, kind)
        return self._style_ids[name]

    # -- content -----------------------------------------------------------

    def write(self, target: Path) -> None:
        tables: dict[int, object] = {}
        for segment in segments(self.leaflet):
            owner = segment.owner
            if isinstance(owner, Table):
                if id(owner) not in tables:
                    tables[id(owner)] = self._table(owner)
                row, column = segment.cell  # type: ignore[misc]
                paragraph = tables[id(owner)].rows[row].cells[column].paragraphs[0]
                paragraph._p.style = self._style_id(segment.style)
                self._runs(paragraph, segment.inlines, None)
                continue
            if isinstance(owner, Image):
                self._picture(owner)
            paragraph = self._paragraph(segment)
            if isinstance(segment.item_of, ListBlock) and segment.item_of.ordered:
                self._number(paragraph, segment)
        self._footer()
        self._properties()
        buffer = io.BytesIO()
        self.doc.save(buffer)
        target.write_bytes(_with_fixed_times(buffer.getvalue(), self.leaflet.meta.last_reviewed.first_day))

    def _paragraph(self, segment: Segment):
        paragraph = self.doc.add_paragraph()
        paragraph._p.style = self._style_id(segment.style)
        self._runs(paragraph, segment.inlines, None)
        return paragraph

    def _runs(self, paragraph, spans: tuple[Inline, ...], char_style: str | None) -> None:
        for span in spans:
            if isinstance(span, Text):
                for piece, protected in split_protected(normalise_spaces(span.text), self.protected):
                    run = paragraph.add_run(piece)
                    style = self._style_id(self.do_not_translate if protected else char_style, character=True)
                    if style is not None:
                        run._r.style = style
            elif isinstance(span, Bold):
                self._runs(paragraph, span.children, "Strong")
            elif isinstance(span, Link):
                self._hyperlink(paragraph, span)

    def _hyperlink(self, paragraph, link: Link) -> None:
        from docx.opc.constants import RELATIONSHIP_TYPE

        rel_id = paragraph.part.relate_to(link.href, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        element = _element("w:hyperlink")
        element.set(_qn("r:id"), rel_id)
        paragraph._p.append(element)
        for piece, protected in split_protected(normalise_spaces(plain_text(link.children)), self.protected):
            style = self.do_not_translate if protected else "Hyperlink"
            run = _element("w:r")
            rpr = _element("w:rPr")
            rpr.append(_element("w:rStyle", val=self._style_id(style, character=True)))
            run.append(rpr)
            text = _element("w:t")
            text.text = piece
            text.set(_qn("xml:space"), "preserve")
            run.append(text)
            element.append(run)

    def _number(self, paragraph, segment: Segment) -> None:
        """Each ordered list gets its own numbering instance, so it counts from its own start."""
        block = segment.item_of
        assert block is not None
        if id(block) not in self.numbering:
            self.numbering[id(block)] = self._restart_numbering(segment.style, block.start)
        if self.numbering[id(block)]:
            paragraph._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = self.numbering[id(block)]

    def _restart_numbering(self, style_name: str, start: int) -> int:
        style = self.doc.styles[style_name]
        num_pr = style.element.pPr.numPr if style.element.pPr is not None else None
        if num_pr is None:
            return 0
        numbering = self.doc.part.numbering_part.element
        abstract_id = numbering.num_having_numId(num_pr.numId.val).abstractNumId.val
        num = numbering.add_num(abstract_id)
        level = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        override = _element("w:lvlOverride", ilvl=str(level))
        override.append(_element("w:startOverride", val=str(start)))
        num.append(override)
        return num.numId

    def _table(self, table: Table):
        columns = max(len(table.header), *(len(r) for r in table.rows)) if table.rows else len(table.header)
        word_table = self.doc.add_table(rows=1 + len(table.rows), cols=columns)
        word_table.style = self.doc.styles["Table Grid"]
        for row in word_table.rows:
            for cell in row.cells:
                cell.paragraphs[0].style = self.doc.styles[TABLE_TEXT_STYLE]
        word_table.rows[0]._tr.get_or_add_trPr().append(_element("w:tblHeader", val="true"))
        return word_table

    def _picture(self, image: Image) -> None:
        """The picture alone in a Figure paragraph; its description follows as text to translate."""
        from docx.shared import Cm

        paragraph = self.doc.add_paragraph(style=FIGURE_STYLE)
        paragraph.add_run().add_picture(str(image.path), width=Cm(IMAGE_WIDTH_CM))
        paragraph._p.xpath(".//wp:docPr")[0].set("descr", image.alt)

    def _footer(self) -> None:
        section = self.doc.sections[0]
        if self.info.rtl:
            section._sectPr.append(_element("w:bidi"))  # columns and page furniture right to left too
        paragraph = section.footer.paragraphs[0]
        paragraph.style = self.doc.styles["Footer"]
        paragraph.add_run(self.stamp, style=self.do_not_translate)

    def _properties(self) -> None:
        meta = self.leaflet.meta
        props = self.doc.core_properties
        props.title = meta.title
        props.subject = f"{meta.title} (resource number {meta.resource_number})"
        props.keywords = f"{meta.resource_number}; patient information" + (f"; {meta.department}" if meta.department else "")
        props.author = self.settings.organisation.name
        props.last_modified_by = self.settings.organisation.name
        props.comments = self.stamp
        props.language = meta.language
        props.category = "Patient information"
        props.revision = 1
        reviewed = dt.datetime.combine(meta.last_reviewed.first_day, dt.time())
        props.created = reviewed
        props.modified = reviewed
        self._custom_properties(custom_properties(self.leaflet))

    def _custom_properties(self, values: Mapping[str, str]) -> None:
        from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
        from docx.opc.packuri import PackURI
        from docx.opc.part import Part

        properties = "".join(
            f'<property fmtid="{CUSTOM_PROPERTIES_FMTID}" pid="{pid}" name="{escape(name)}"><vt:lpwstr>{escape(value)}</vt:lpwstr></property>'
            for pid, (name, value) in enumerate(values.items(), start=2)  # Word numbers them from 2
        )
        xml = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
            f'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">{properties}</Properties>'
        )
        package = self.doc.part.package
        part = Part(PackURI(CUSTOM_PROPERTIES_URI), CONTENT_TYPE.OFC_CUSTOM_PROPERTIES, xml.encode("utf-8"), package)
        package.relate_to(part, RELATIONSHIP_TYPE.CUSTOM_PROPERTIES)


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _child(parent, tag: str):
    """``parent``'s child ``tag``, added if it has none."""
    child = parent.find(_qn(tag))
    if child is None:
        child = _element(tag)
        parent.append(child)
    return child


def _element(tag: str, **attributes: str):
    """A WordprocessingML element with ``w:`` attributes."""
    from docx.oxml import OxmlElement

    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(_qn(f"w:{name}"), value)
    return element


def _with_fixed_times(package: bytes, day: dt.date) -> bytes:
    """The same package with every member dated ``day`` (python-docx dates them now), so the same
    source gives a byte-identical file and a rebuild shows no false change."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as fixed:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=(max(day.year, 1980), day.month, day.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = member.external_attr
            fixed.writestr(info, source.read(member))
    return out.getvalue()


def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
    writer = _DocxWriter(leaflet, settings)
    writer.write(targets["docx"])
    names = {key: _final_name(leaflet, key) for key in RENDERER.outputs}
    targets["translation_brief"].write_text(brief.brief_text(leaflet, settings, names), encoding="utf-8")
    targets["xliff"].write_bytes(xliff.xliff_document(leaflet, names["docx"], writer.stamp))


def _final_name(leaflet: Leaflet, key: str) -> str:
    """The name a file is renamed to once written (render writes under temporary names)."""
    return f"{leaflet.stem}{RENDERER.outputs[key]}"


RENDERER = Renderer(
    name="docx",
    outputs={"docx": ".docx", "translation_brief": ".translation-brief.txt", "xliff": ".xlf"},
    render=render,
)
