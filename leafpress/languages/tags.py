"""What a BCP 47 language tag says about a leaflet: its script, its direction, its locale.

Everything is derived from the tag through CLDR's likely subtags (langcodes) and Unicode's
script data (fontTools), never from a hand-kept list of languages: ``ur`` is Arabic script and
right to left, ``pa`` is Gurmukhi and ``pa-Arab`` is not, ``zh-HK`` is Traditional Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Marks that set the direction of text without drawing anything: LRM, RLM, ALM, embeddings, overrides and isolates.
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@dataclass(frozen=True)
class LanguageInfo:
    tag: str  # as the leaflet gives it
    language: str  # the base language, lower case: "zh"
    script: str  # ISO 15924, from the tag or its likely subtags: "Hant"
    territory: str  # from the tag or its likely subtags: "HK"
    direction: str  # "rtl" or "ltr"

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    @property
    def english(self) -> bool:
        return self.language == "en"


@cache
def language_info(tag: str) -> LanguageInfo:
    """The script, territory and direction a language tag implies."""
    import langcodes
    from fontTools import unicodedata

    try:
        full = langcodes.Language.get(tag).maximize()
    except (LookupError, ValueError):
        full = langcodes.Language.get("und")
    language = (full.language or tag.split("-")[0]).lower()
    script = full.script or "Zyyy"
    direction = "rtl" if unicodedata.script_horizontal_direction(script, "LTR") == "RTL" else "ltr"
    return LanguageInfo(tag, language, script, full.territory or "", direction)


@cache
def babel_locale(tag: str):
    """The Babel locale for a tag (its base language if Babel lacks the full tag; English if neither)."""
    from babel import Locale, UnknownLocaleError

    for candidate in (tag, tag.split("-")[0], "en"):
        try:
            return Locale.parse(candidate, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    raise AssertionError("Babel always knows English")

