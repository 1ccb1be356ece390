"""The translation brief: a short text sent with the Word file telling translators what it
is, how many words to translate, what to leave alone and how to hand it back."""

from __future__ import annotations

from collections.abc import Mapping

from .model import Leaflet
from .segments import IMAGE_DESCRIPTION_STYLE, translatable_words
from .settings import Settings

RULE = "Keep the styles, translate the text."


def brief_text(leaflet: Leaflet, settings: Settings, files: Mapping[str, str]) -> str:
    """The brief for ``leaflet``; ``files`` names the Word and XLIFF files it travels with."""
    meta = leaflet.meta
    style = settings.docx.do_not_translate_style
    terms = "".join(f"  - {term}\n" for term in meta.do_not_translate) or "  (none listed for this leaflet)\n"
    return f"""{_heading(f"Translation brief: {meta.title}", "=")}
Leaflet:              {meta.title}{f" ({meta.subtitle})" if meta.subtitle else ""}
Organisation:         {settings.organisation.name}
File to translate:    {files["docx"]} (the same text as XLIFF 2.0: {files["xliff"]})
Source language:      {meta.language}
Words to translate:   {translatable_words(leaflet):,} (text in the {style} style is not counted)
Resource number:      {meta.resource_number}
Last reviewed:        {meta.last_reviewed.display}
Next review:          {meta.next_review.display}

{_heading(f"The rule: {RULE.lower()}")}
- Every paragraph has a Word style (Title, Heading 1, List Bullet, Callout, Table Text...).
  Keep each paragraph, list item and table cell, with its style, and translate the text in it.
  Do not add, delete, merge, split or reorder paragraphs, list items or table cells.
- Bold text uses the Strong character style: keep it on the words that match.
- Links: translate the link text; the address behind it stays as it is.
- Paragraphs styled "{IMAGE_DESCRIPTION_STYLE}" describe a picture for people who cannot see
  it: translate them too.
- Add no direct formatting, text boxes, tabs, manual line breaks or extra spaces.
- The footer is made from the source; leave it untranslated.

{_heading("Text that must not be translated")}
It is in the character style {style}: copy it exactly. That is every phone number, email
address and web address, the resource number {meta.resource_number}, and these terms:
{terms}
{_heading("Handing the translation back")}
Return the translated .docx with its file properties unchanged: they carry the resource
number and a checksum that match it to this leaflet's source. It is imported with
`generate.py import-translation FILE.docx --lang <language>` and then published in print,
large print, Word and audio, with the source's resource number and review dates.
"""


def _heading(text: str, underline: str = "-") -> str:
    return f"{text}\n{underline * len(text)}\n"
