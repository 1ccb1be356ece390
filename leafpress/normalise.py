"""Rewrite leaflet text the way a person would read it aloud, before speech synthesis.

espeak-ng reads "999" as "nine hundred and ninety-nine", "7.30am" as "seven point three
zero A M" and "4853/VER2" as a number, and it ignores SSML ``say-as``; so the text is
normalised here. English rules apply to English leaflets; the team's pronunciation list
(layouts/pronunciations.yaml) applies to every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

from .errors import InputError

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]

UNITS = {  # symbol: (one, many)
    "mg": ("milligram", "milligrams"), "mcg": ("microgram", "micrograms"), "g": ("gram", "grams"),
    "kg": ("kilogram", "kilograms"), "ml": ("millilitre", "millilitres"), "l": ("litre", "litres"),
    "mm": ("millimetre", "millimetres"), "cm": ("centimetre", "centimetres"), "m": ("metre", "metres"),
    "km": ("kilometre", "kilometres"), "mmol/l": ("millimole per litre", "millimoles per litre"),
}
ABBREVIATIONS = {
    "A&E": "A-and-E", "and/or": "and, or", "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera",
    "approx.": "approximately", "no.": "number", "tel.": "telephone", "GP": "G P",
    "GPs": "G Ps", "NHS": "N H S", "PALS": "Pals", "ICU": "I C U", "ENT": "E N T",
    "ECG": "E C G", "MRI": "M R I", "CT": "C T", "IV": "I V", "GI": "G I",
}
SYMBOLS = {"&": " and ", "•": ", ", "–": ", ", "—": ", ", "+": " plus ", "=": " equals ", "%": " per cent"}


def spell_digits(digits: str) -> str:
    return " ".join(digits)


def _phone(match: re.Match[str]) -> str:
    groups = re.split(r"[\s-]+", match.group(0).strip())
    return ", ".join(spell_digits(g) for g in groups)


def _clock(hour: int, minute: int, suffix: str) -> str:
    return f"{hour}:{minute:02d} {suffix}" if minute else f"{hour} {suffix}"


def _time_12h(match: re.Match[str]) -> str:
    hour, minute = int(match["h"]), int(match["m"] or 0)
    return _clock(hour, minute, match["ap"].lower().replace(".", ""))


def _time_24h(match: re.Match[str]) -> str:
    hour, minute = int(match["h"]), int(match["m"])
    if hour == 12 and minute == 0:
        return "midday"
    if hour in (0, 24) and minute == 0:
        return "midnight"
    suffix = "am" if hour < 12 else "pm"
    return _clock(hour % 12 or 12, minute, suffix)


def _web(match: re.Match[str]) -> str:
    text = re.sub(r"^https?://", "", match.group(0)).rstrip("/")
    words = []
    for part in re.split(r"([./@:-])", text):
        if part in (".", "/", "@", ":", "-"):
            words.append({".": "dot", "/": "slash", "@": "at", ":": "colon", "-": "dash"}[part])
        elif part.lower() in ("www", "uk", "nhs", "gov"):
            words.append(" ".join(part.upper()) if part.lower() != "www" else "w w w")
        elif part:
            words.append(part)
    return " ".join(words)


def _unit(match: re.Match[str]) -> str:
    one, many = UNITS[match["u"].lower()]
    return f"{match['n']} {one if match['n'] == '1' else many}"


ENGLISH_RULES: list[Rule] = [
    # Web and email addresses before anything else touches their dots and slashes.
    (re.compile(r"\b(?:https?://)?(?:www\.)[\w.-]+\.[a-z]{2,}(?:/[\w./-]*)?|\bhttps?://[\w./-]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), _web),
    # UK phone numbers: 020 7188 2673, 0114 271 1900, 0800 123 456, 07700 900123.
    (re.compile(r"(?<![\d])0\d{2,4}(?:[ -]\d{3,4}){1,2}(?![\d])"), _phone),
    # Times: 9am, 7.30am, 7:30 p.m., then 24-hour 17:00.
    (re.compile(r"\b(?P<h>1[0-2]|0?[1-9])(?:[.:](?P<m>[0-5]\d))?\s?(?P<ap>[ap]\.?m\.?)(?=\W|$)", re.I), _time_12h),
    (re.compile(r"\b(?P<h>[01]?\d|2[0-4]):(?P<m>[0-5]\d)\b(?!\s?[ap]\.?m\b)", re.I), _time_24h),
    # Emergency and advice lines, and numbers with a leading zero (bleep 0810): digit by digit.
    (re.compile(r"(?<![\d:.])(?:\b(?:999|111|112)\b|\b0\d+\b)"), lambda m: spell_digits(m.group(0))),
    # Units after numbers: 500mg, 5 ml, 37°C.
    (re.compile(r"(?P<n>\d+(?:\.\d+)?)\s?(?P<u>mmol/l|mcg|mg|kg|ml|km|cm|mm|g|l|m)\b", re.I), _unit),
    (re.compile(r"(\d+(?:\.\d+)?)\s?°C\b"), r"\1 degrees Celsius"),
    (re.compile(r"(\d+(?:\.\d+)?)\s?°F\b"), r"\1 degrees Fahrenheit"),
    # Ranges: 9 to 5, 3-4 days.
    (re.compile(r"(\d)\s?[-–]\s?(\d)"), r"\1 to \2"),
]
# After the abbreviations (so "and/or" is caught first): a slash between words is read as "or".
SLASH_RULE: Rule = (re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z])"), " or ")


def _abbreviation_rules() -> list[Rule]:
    rules: list[Rule] = []
    for short, spoken in sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[0])):
        start = r"\b" if short[0].isalnum() else ""
        end = r"\b" if short[-1].isalnum() else r"(?!\w)"
        rules.append((re.compile(start + re.escape(short) + end), spoken))
    return rules


def spell_code(code: str) -> str:
    """Read a code such as a resource number one character at a time: 4853/VER2 → 4 8 5 3, slash, V E R 2."""
    parts = []
    for chunk in re.split(r"([/\-.])", code):
        if chunk in ("/", "-", "."):
            parts.append({"/": "slash", "-": "dash", ".": "dot"}[chunk])
        elif chunk:
            parts.append(" ".join(chunk.upper()))
    return ", ".join(parts)


@cache
def load_pronunciations(path: Path) -> dict[str, str]:
    """The team's list of words and how to say them; a missing file means none."""
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise InputError.from_yaml(path, err, text, 1, "the pronunciation list is not valid YAML; write 'word: how to say it' lines") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError.at(path, 1, "the pronunciation list must be 'word: how to say it' lines")
    return data


def _keep_capital(original: str, spoken: str) -> str:
    """A respelling starts with a capital where the word did, so sentences still split."""
    return spoken[:1].upper() + spoken[1:] if original[:1].isupper() else spoken


class Normaliser:
    """Turns display text into speakable text for one language."""

    def __init__(self, language: str, pronunciations: dict[str, str]):
        english = language.lower().split("-")[0] == "en"
        self.rules: list[Rule] = [*ENGLISH_RULES, *_abbreviation_rules(), SLASH_RULE] if english else []
        self.symbols = SYMBOLS if english else {"•": ", ", "–": ", ", "—": ", "}
        self.pronunciations = [
            (re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", 0 if word.isupper() else re.I), spoken)
            for word, spoken in sorted(pronunciations.items(), key=lambda kv: -len(kv[0]))
        ]

    def __call__(self, text: str) -> str:
        for pattern, spoken in self.pronunciations:
            text = pattern.sub(lambda m, spoken=spoken: _keep_capital(m.group(0), spoken), text)
        for pattern, replacement in self.rules:
            text = pattern.sub(replacement, text)
        for symbol, spoken in self.symbols.items():
            text = text.replace(symbol, spoken)
        text = re.sub(r"\s+([,.;:!?])", r"\1", text)
        text = re.sub(r",\s*,", ",", text)
        return re.sub(r"\s{2,}", " ", text).strip()
