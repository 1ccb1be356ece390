"""The fonts a leaflet is set in, on paper and on screen: every character its outputs draw,
checked against the faces the settings give its scripts (leafpress.languages.fonts)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..languages.catalogue import Catalogue, catalogue_for
from ..languages.fonts import FontPlan, plan_fonts
from ..languages.tags import language_info
from ..memo import LastMade
from ..model import Leaflet, Link
from ..segments import segments
from ..settings import Settings

DRAWN_BY_THE_LAYOUT = "•–·0123456789."  # list markers and numbers, page numbers, the stamp's separator


_last: LastMade[tuple[frozenset[str], FontPlan]] = LastMade()  # the characters of the last leaflet planned, and its plan


def printable_fonts(leaflet: Leaflet, settings: Settings, extra: Iterable[str] = ()) -> FontPlan:
    """The fonts the leaflet is set in (its PDFs, and its web page, which also draws ``extra``);
    InputError for a character none of them has. Planned once for the formats of one leaflet in
    one build: the same characters make the same plan, so ``extra`` text that draws no character
    the PDFs do not is planned with them."""
    labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)

    def plan(text: str) -> FontPlan:
        return plan_fonts(text, language_info(leaflet.meta.language), settings.fonts,
                          settings.settings_file, lambda char: _locate(char, leaflet, labels.path, settings.settings_file))

    def printed() -> tuple[frozenset[str], FontPlan]:
        text = printed_text(leaflet, settings, labels)
        return frozenset(text), plan(text)

    characters, fonts = _last.get((leaflet, settings), printed)
    extra_text = "\n".join(extra)
    if set(extra_text) <= characters:
        return fonts
    return plan("\n".join([printed_text(leaflet, settings, labels), extra_text]))


def printed_text(leaflet: Leaflet, settings: Settings, labels: Catalogue) -> str:
    """Every character the PDFs and the web page draw: the leaflet's text, its links' addresses, the fixed
    text, the brand and the address the output is published at."""
    org = settings.organisation
    texts = segments(leaflet)
    links = [span.href for segment in texts for span in _spans(segment.inlines) if isinstance(span, Link)]
    brand = [org.name, org.switchboard, org.website, org.patient_advice.name, org.patient_advice.phone, org.patient_advice.email,
             settings.web.base_url]
    return "\n".join([*(segment.text for segment in texts), leaflet.meta.department or "", *links, *brand,
                      *labels.values("print."), *labels.values("web."), labels.text("audio.introduction_chapter"),
                      labels.text("audio.ending_chapter"), *labels.stamp_parts(leaflet.meta), DRAWN_BY_THE_LAYOUT])


def _spans(spans):
    """Every span, those inside bold and links included."""
    for span in spans:
        yield span
        yield from _spans(getattr(span, "children", ()))


def _locate(char: str, leaflet: Leaflet, catalogue: Path, settings_file: Path) -> tuple[Path, int] | None:
    """The first line, in the source, the catalogue or the settings, that holds ``char``."""
    for path in (leaflet.source, catalogue, settings_file):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            if char in line:
                return path, number
    return None
