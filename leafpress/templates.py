"""The Jinja2 environment for the templates in layouts/: autoescaped, strict, sandboxed from sources.

Leaflet text only ever reaches a template as data, so nothing a source says is run as a template.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

from .model import plain_text


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


@cache
def environment(layouts_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(layouts_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )
    env.filters.update(
        css_string=css_string,
        printable_url=printable_url,
        plain_text=plain_text,
        file_url=lambda path: Path(path).as_uri(),
    )
    return env
