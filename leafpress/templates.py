"""The Jinja2 environment for the templates in layouts/: autoescaped, strict, sandboxed from sources.

Leaflet text only ever reaches a template as data, so nothing a source says is run as a template.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .model import plain_text
from .segments import PHONE_RE

LEFT_TO_RIGHT_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2066", "\u2069"
_LTR = "0-9A-Za-z\u00c0-\u024f"  # Latin letters and digits
_WORD = rf"[+(]?[{_LTR}](?:[{_LTR}./:@_%+\-–]*[{_LTR}/])?\)?"
LTR_RUN = re.compile(rf"{_WORD}(?: {_WORD})*")
PHONE = re.compile(PHONE_RE)
MAX_UNBROKEN = 25  # a longer left-to-right run (an address, a sentence) may still wrap


def css_string(value: str) -> str:
    """Quote text as a CSS string literal (for ``content:`` in page margins)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return f'"{escaped}"'


def printable_url(href: str) -> str:
    """How a link is written on paper: without the scheme or a trailing slash."""
    for prefix in ("https://", "http://", "mailto:", "tel:"):
        if href.startswith(prefix):
            href = href[len(prefix) :]
            break
    return href.rstrip("/")


def keep_together(text: str, rtl: bool) -> Markup:
    """Text as HTML with each phone number on one line; in right-to-left text, also each run of
    left-to-right words and numbers ("NHS 111", "020 7188 2673", "4853/VER2", an address) inside a
    left-to-right isolate, so it reads in order as one unit. (WeasyPrint ignores unicode-bidi, so
    the isolates are characters, which Pango honours.)"""
    pattern = LTR_RUN if rtl else PHONE

    def keep(match: re.Match[str]) -> str:
        run = match.group()
        nobreak = " " in run and (len(run) <= MAX_UNBROKEN or PHONE.fullmatch(run))  # a run of one word can't break anyway
        inner = escape(_isolated(run) if rtl else run)
        return f'<span class="nobreak">{inner}</span>' if nobreak else inner

    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces += [escape(text[position:match.start()]), keep(match)]
        position = match.end()
    return Markup("".join([*pieces, escape(text[position:])]))


def address_lines(address: str) -> Markup:
    """A web address as HTML that may break after a slash and nowhere else: never at a hyphen, which a
    reader would take for a word broken in two. (Its element is set left to right, in any language.)"""
    return Markup("<wbr>".join(f'<span class="nobreak">{escape(part)}</span>' for part in re.findall(r"[^/]*/|[^/]+$", address)))


def isolate_ltr(text: str, rtl: bool) -> str:
    """Plain text with its left-to-right runs isolated, where the text is right to left (for CSS strings)."""
    return LTR_RUN.sub(lambda match: _isolated(match.group()), text) if rtl else text


def _isolated(run: str) -> str:
    """A run in an isolate if it needs one: one word or number ("NHS", "17:00") keeps its order alone,
    and isolating it would only part it from the punctuation after it."""
    return run if re.fullmatch(r"[\w:]+", run) else f"{LEFT_TO_RIGHT_ISOLATE}{run}{POP_DIRECTIONAL_ISOLATE}"


IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}  # what a leaflet may show (reader.IMAGE_SUFFIXES)


def data_url(path: Path) -> str:
    """A picture as a ``data:`` URL, so a page holds it and loads nothing else for it."""
    import base64

    path = Path(path)
    return f"data:{IMAGE_TYPES[path.suffix.lower()]};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def environment(layouts_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(layouts_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html", "xhtml.j2", "opf.j2", "smil.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(
        css_string=css_string,
        printable_url=printable_url,
        plain_text=plain_text,
        file_url=lambda path: Path(path).as_uri(),
        data_url=data_url,
        keep_together=keep_together,
        address_lines=address_lines,
    )
    return env
