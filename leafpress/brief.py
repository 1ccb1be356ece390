"""The translation brief: a short text sent with the Word file telling translators what it
is, how many words to translate, what to leave alone and how to hand it back. It is written
in the leaflet's language, from its catalogue, and asks the agency to check the fixed text
leafpress adds in the languages no native speaker has checked yet."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from .languages.catalogue import catalogue_for, unreviewed_languages
from .model import Leaflet
from .segments import IMAGE_DESCRIPTION_STYLE, translatable_words
from .settings import Settings

LABEL_WIDTH = 22
WIDTH = 95  # the brief's line length


def brief_text(leaflet: Leaflet, settings: Settings, files: Mapping[str, str]) -> str:
    """The brief for ``leaflet``; ``files`` names the Word and XLIFF files it travels with."""
    meta = leaflet.meta
    labels = catalogue_for(meta.language, settings.layouts_dir)
    text = labels.text
    style = settings.docx.do_not_translate_style
    terms = "".join(f"  - {term}\n" for term in meta.do_not_translate) or f"  {text('brief.no_terms')}\n"
    unreviewed = unreviewed_languages(settings.layouts_dir)
    fixed = textwrap.fill(text("brief.fixed_text", languages=", ".join(unreviewed)), WIDTH) if unreviewed else text("brief.all_reviewed")
    rows = [
        (text("brief.leaflet"), meta.title + (f" ({meta.subtitle})" if meta.subtitle else "")),
        (text("brief.organisation"), settings.organisation.name),
        (text("brief.file"), text("brief.file_value", docx=files["docx"], xliff=files["xliff"])),
        (text("brief.source_language"), meta.language),
        (text("brief.words"), text("brief.words_value", count=f"{translatable_words(leaflet):,}", style=style)),
        (text("brief.resource_number"), meta.resource_number),
        (text("brief.last_reviewed"), labels.month_year(meta.last_reviewed)),
        (text("brief.next_review"), labels.month_year(meta.next_review)),
    ]
    return f"""{_heading(text("brief.title", title=meta.title), "=")}

{"".join(_row(label, value) for label, value in rows)}
{_heading(text("brief.rule_heading"))}
{text("brief.rules", image_style=IMAGE_DESCRIPTION_STYLE)}

{_heading(text("brief.protected_heading"))}
{text("brief.protected", style=style, resource_number=meta.resource_number)}
{terms}
{_heading(text("brief.fixed_text_heading"))}
{fixed}

{_heading(text("brief.return_heading"))}
{text("brief.return")}
"""


def _row(label: str, value: str) -> str:
    return f"{label + ':':<{LABEL_WIDTH}}{value}\n"


def _heading(text: str, underline: str = "-") -> str:
    return f"{text}\n{underline * len(text)}"



