"""The output formats, by the names the command line uses (``--formats print,docx``)."""

from __future__ import annotations

from . import audio, braille, docx, epub, print_pdf, web_page
from .base import Renderer

# In the order a build makes them: the web page after the audio, whose chapters it lists.
RENDERERS: dict[str, Renderer] = {
    renderer.name: renderer
    for renderer in (print_pdf.PRINT, print_pdf.LARGE_PRINT, docx.RENDERER, audio.RENDERER, braille.RENDERER, epub.RENDERER, web_page.RENDERER)
}

__all__ = ["RENDERERS", "Renderer"]
