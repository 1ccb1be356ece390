"""The leaflet's segments as an XLIFF 2.0 file, the exchange format translation tools read natively.

One ``<unit>`` per segment of the Word file, in the same order, named by its Word style;
bold and links are ``<pc>`` spans and the text that must not be translated is
``<mrk translate="no">``, so tools lock it as they do the Word file's style.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from .model import Bold, Inline, Leaflet, Link, Text, plain_text
from .segments import normalise_spaces, protected_pattern, segments, split_protected

NAMESPACE = "urn:oasis:names:tc:xliff:document:2.0"


def xliff_document(leaflet: Leaflet, original: str, stamp: str) -> bytes:
    """The XLIFF 2.0 file for ``leaflet``; ``original`` names the Word file it mirrors, ``stamp`` is its footer."""
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(_tag("xliff"), {"version": "2.0", "srcLang": leaflet.meta.language})
    file = ET.SubElement(root, _tag("file"), {"id": leaflet.stem, "original": original})
    notes = ET.SubElement(file, _tag("notes"))
    ET.SubElement(notes, _tag("note"), {"category": "stamp"}).text = stamp
    pattern = protected_pattern(leaflet.meta)
    for number, segment in enumerate(segments(leaflet), start=1):
        unit = ET.SubElement(file, _tag("unit"), {"id": f"u{number}", "name": segment.style})
        source = ET.SubElement(ET.SubElement(unit, _tag("segment")), _tag("source"))
        _Inlines(pattern).write(source, segment.inlines)
    _indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _indent(element: ET.Element, level: int = 0) -> None:
    """One element a line, two spaces a level, leaving the text of ``<source>`` and ``<note>`` exactly as it is."""
    if element.tag in (_tag("source"), _tag("note")) or not len(element):
        return
    element.text = "\n" + "  " * (level + 1)
    for child in element:
        _indent(child, level + 1)
        child.tail = "\n" + "  " * (level + 1)
    element[-1].tail = "\n" + "  " * level


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


class _Inlines:
    """Writes inline spans into an XLIFF element, numbering the inline codes within a unit."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.codes = 0

    def write(self, parent: ET.Element, spans: tuple[Inline, ...]) -> None:
        for span in spans:
            if isinstance(span, Text):
                self._text(parent, normalise_spaces(span.text))
            elif isinstance(span, Bold):
                self.write(self._code(parent, "pc", type="fmt", subType="xlf:b"), span.children)
            elif isinstance(span, Link):
                self._text(self._code(parent, "pc", type="link"), normalise_spaces(plain_text(span.children)))

    def _code(self, parent: ET.Element, name: str, **attributes: str) -> ET.Element:
        self.codes += 1
        return ET.SubElement(parent, _tag(name), {"id": str(self.codes), **attributes})

    def _text(self, parent: ET.Element, text: str) -> None:
        for piece, protected in split_protected(text, self.pattern):
            if protected:
                self._code(parent, "mrk", translate="no").text = piece
            else:
                _append_text(parent, piece)


def _append_text(parent: ET.Element, text: str) -> None:
    """Text after the element's last child (its tail) or, with no children, its own text."""
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text
