"""Mark every text line WeasyPrint draws with its real text (a PDF ``/ActualText`` span).

WeasyPrint's ToUnicode map keeps one text per glyph, from the glyph's first use, so scripts that reuse
glyphs in other sequences (Bengali, Tamil, Gujarati, Nastaliq, lam-alef) read back wrong without it.

Text readers (poppler's pdftotext, MuPDF) lay a span's text out from left to right across the line and
then put it back into reading order as they do drawn glyphs, reversing its right-to-left runs; so a line
holding right-to-left letters is given in the order Pango drew it (its runs in visual order, each
right-to-left run reversed), which those readers turn back into the source's order.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from ..languages.tags import BIDI_CONTROLS

_MARK = "_leafpress_actual_text"
_NOT_TEXT = dict.fromkeys(map(ord, "\u00ad" + BIDI_CONTROLS))  # soft hyphens and bidi controls: never drawn


def span_text(textbox: Any) -> str:
    """What a line's span says: its text without soft hyphens and bidi controls (neither is drawn),
    in drawn order when it holds right-to-left letters."""
    text = textbox.text
    if any(unicodedata.bidirectional(char) in ("R", "AL") for char in text):
        text = _drawn_order(textbox)
    return text.translate(_NOT_TEXT)


def _drawn_order(textbox: Any) -> str:
    """The line's text in the order Pango draws it: runs from left to right, right-to-left runs reversed."""
    from weasyprint.text.ffi import ffi

    layout = textbox.pango_layout
    layout.reactivate(textbox.style)
    try:
        utf8 = layout.text.encode()
        line, _ = layout.get_first_line()
        pieces, run = [], line.runs[0]
        while run != ffi.NULL:
            item = run.data.item
            piece = utf8[item.offset:item.offset + item.length].decode()
            pieces.append(piece[::-1] if item.analysis.level % 2 else piece)
            run = run.next
        return "".join(pieces)
    finally:
        layout.deactivate()


def install() -> None:
    """Wrap ``weasyprint.draw.draw_text`` (the name the page drawing calls); calling it again does nothing."""
    import pydyf
    import weasyprint.draw

    original = weasyprint.draw.draw_text
    if getattr(original, _MARK, False):
        return

    def draw_text(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> None:
        if textbox.style["visibility"] != "visible" or not textbox.text.strip():
            original(stream, textbox, *args, **kwargs)  # draws no glyphs: nothing to mark
            return
        # BDC goes before WeasyPrint's BT and EMC after its ET, so the span sits inside the box's
        # own MCID span, never cuts a text object, and stops begin_text() merging it with a previous one.
        stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(span_text(textbox))}))
        try:
            original(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()

    setattr(draw_text, _MARK, True)
    draw_text.__wrapped__ = original  # type: ignore[attr-defined]
    weasyprint.draw.draw_text = draw_text
