"""Rewrite leaflet text the way a person would read it aloud, before speech synthesis.

espeak-ng reads "999" as "nine hundred and ninety-nine", "7.30am" as "seven point three
zero A M" and "4853/VER2" as a number, and it ignores SSML ``say-as``; so the text is
normalised here. In every language, what must be read digit by digit or character by
character is (phone numbers, 999, 111, extensions, addresses, codes, times), with the
words for "dot", "at", "to"... from the language's catalogue (its ``speech:`` keys).
English leaflets get the full English rule set (dates, units, money, abbreviations). The
team's pronunciation list (layouts/pronunciations.yaml) applies to every language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

from ..errors import InputError, Problem
from ..languages.catalogue import Catalogue
from ..languages.tags import language_info
from ..model import MONTH_NAMES

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str]

UNITS = {  # symbol (lower case): (one, many)
    "mg": ("milligram", "milligrams"), "mcg": ("microgram", "micrograms"), "µg": ("microgram", "micrograms"),
    "g": ("gram", "grams"), "kg": ("kilogram", "kilograms"), "ml": ("millilitre", "millilitres"),
    "l": ("litre", "litres"), "mm": ("millimetre", "millimetres"), "cm": ("centimetre", "centimetres"),
    "m": ("metre", "metres"), "km": ("kilometre", "kilometres"),
    "mmol/l": ("millimole per litre", "millimoles per litre"), "mmhg": ("millimetre of mercury", "millimetres of mercury"),
    "kcal": ("calorie", "calories"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
}
# Written short form: what to say. Those ending in "." keep a full stop when a sentence ends with them.
ABBREVIATIONS = {
    "A&E": "A-and-E", "and/or": "and, or", "e.g.": "for example", "i.e.": "that is", "etc.": "et cetera",
    "approx.": "approximately", "tel.": "telephone", "vs": "versus", "GP": "G P", "GPs": "G Ps",
    "NHS": "N H S", "PALS": "Pals", "ICU": "I C U", "ENT": "E N T", "ECG": "E C G", "MRI": "M R I",
    "CT": "C T", "IV": "I V", "GI": "G I", "24/7": "24 hours a day, 7 days a week",
}
SYMBOLS = {
    "&": " and ", "•": ", ", "–": ", ", "—": ", ", "+": " plus ", "=": " equals ", "%": " per cent",
    "×": " times ", "<": " less than ", ">": " more than ", "~": " about ", "°": " degrees",
}
OTHER_LANGUAGE_SYMBOLS = {"•": ", ", "–": ", ", "—": ", "}
EMERGENCY_NUMBERS = ("999", "111", "112")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_PATTERN = r"(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?:day|nesday|rsday|urday|sday)?\.?"
MONTH_PATTERN = "|".join(MONTH_NAMES)


def spell_digits(digits: str) -> str:
    return " ".join(digits)


def ordinal(number: int) -> str:
    """1 → 1st, 22 → 22nd: espeak-ng reads these as "first", "twenty-second"."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _full_stop(match: re.Match[str]) -> str:
    """A full stop swallowed with an abbreviation ("9 p.m.", "etc.") that also ended the sentence."""
    if not match.group(0).endswith("."):
        return ""
    rest = match.string[match.end():]
    return "." if not rest.strip() or re.match(r"\s+[\"'‘“(]?[A-Z0-9]", rest) else ""


# Phone numbers -----------------------------------------------------------------------


def _phone(match: re.Match[str], plus: str) -> str:
    """Digit groups with a pause between them: 020 7188 2673 → 0 2 0, 7 1 8 8, 2 6 7 3."""
    text = match.group(0)
    spoken = []
    if text.startswith("+"):
        spoken.append(f"{plus} " + spell_digits(re.match(r"\+(\d+)", text).group(1)))
        text = re.sub(r"^\+\d+\s?(?:\(0\)\s?)?", "", text)
    spoken.extend(spell_digits(group) for group in re.split(r"[\s-]+", text.strip()))
    return ", ".join(spoken)


# Digits are told from words by ASCII letters, not \b: Chinese writes "电话020 7946 0123" with no space.
PHONE = re.compile(r"(?:\+44\s?(?:\(0\)\s?)?\d{2,4}|(?<![\d+A-Za-z])0\d{2,4})(?:[ -]\d{3,6}){1,2}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mentions_contact(text: str) -> bool:
    """Whether some text gives a phone number, an emergency number or an email address."""
    return bool(PHONE.search(text) or EMAIL.search(text) or re.search(r"\b(?:" + "|".join(EMERGENCY_NUMBERS) + r")\b", text))


# Dates and times ----------------------------------------------------------------------


def _date(day: int, month: int, year: int | None = None) -> str:
    spoken = f"{ordinal(day)} of {MONTH_NAMES[month - 1]}"
    return f"{spoken} {year}" if year else spoken


def _numeric_date(match: re.Match[str]) -> str:
    """01/06/2025 (day first, as in the UK) and 2025-06-01 → 1st of June 2025."""
    day, month, year = int(match["d"]), int(match["mo"]), int(match["y"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return _date(day, month, year + 2000 if year < 100 else year)


def _written_date(match: re.Match[str]) -> str:
    """1 June 2025 → 1st of June 2025; 1-3 June → 1st to 3rd of June."""
    month = MONTH_NAMES.index(match["month"]) + 1
    if not all(1 <= int(d) <= 31 for d in (match["d"], match["d2"] or "1")):
        return match.group(0)
    day = ordinal(int(match["d"]))
    if match["d2"]:
        day += f" to {ordinal(int(match['d2']))}"
    return f"{day} of {MONTH_NAMES[month - 1]}" + (f" {match['y']}" if match["y"] else "")


def _clock(hour: int, minute: int, suffix: str = "") -> str:
    """How a time is said: 9 am, 7:30 am, 10 oh 5 pm, 10 o'clock."""
    if minute == 0:
        return f"{hour} {suffix}" if suffix else f"{hour} o'clock"
    spoken = f"{hour} oh {minute}" if minute < 10 else f"{hour}:{minute:02d}"
    return f"{spoken} {suffix}".strip()


def _time_12h(match: re.Match[str]) -> str:
    hour, minute = int(match["h"]), int(match["m"] or 0)
    suffix = match["ap"].lower().replace(".", "")
    if hour == 12 and minute == 0:
        spoken = "midday" if suffix == "pm" else "midnight"
    else:
        spoken = _clock(hour, minute, suffix)
    return spoken + _full_stop(match)


def _time(match: re.Match[str]) -> str:
    """17:00 → 5 pm and 09:30 → 9:30 am; "9:30", "10:00" and "at 9.30" are said as written."""
    if match["w"]:
        return f"{match['w']} {_clock(int(match['dh']), int(match['dm']))}"
    hour, minute = int(match["h"]), int(match["m"])
    if hour == 12 and minute == 0:
        return "midday"
    if hour in (0, 24) and minute == 0:
        return "midnight"
    if len(match["h"]) == 1:  # "9:30": no sign of the 24-hour clock, so no am or pm
        return _clock(hour, minute)
    return _clock(hour % 12 or 12, minute, "am" if hour < 12 else "pm")


def _day_range(match: re.Match[str]) -> str:
    def full(name: str) -> str:
        return next(day for day in DAYS if day.lower().startswith(name.rstrip(".").lower()[:3]))

    return f"{full(match['a'])} to {full(match['b'])}"


# Money, units, addresses ----------------------------------------------------------------


def _money(match: re.Match[str]) -> str:
    pounds, pence = match["pounds"], int(match["pence"] or 0)
    if pounds == "0" and pence:
        return f"{pence} pence"
    spoken = f"{pounds} pound{'' if pounds == '1' else 's'}"
    return f"{spoken} {pence}" if pence else spoken


def _unit(match: re.Match[str]) -> str:
    one, many = UNITS[match["u"].lower()]
    return f"{match['n']} {one if match['n'] == '1' else many}"


UNIT_PATTERN = r"mmol/l|mmhg|kcal|mcg|µg|mg|kg|ml|km|cm|mm|hrs|hr|mins|min|g|l|m"  # spoken by _unit
WEB_SYMBOLS = {".": "dot", "/": "slash", "@": "at", ":": "colon", "-": "dash", "_": "underscore"}  # catalogue keys
SPELLED_WEB_PARTS = {"www": "w w w", "uk": "U K", "nhs": "N H S", "ac": "A C"}
# A full stop after an address ends the sentence: a path never ends in one.
ADDRESS = re.compile(r"\bhttps?://[\w./?=&%~-]*[\w/]|\bwww\.[\w.-]+\.[a-z]{2,}(?:/(?:[\w./-]*[\w/])?)?|" + EMAIL.pattern +
                     r"|\b[a-z][\w-]*(?:\.[\w-]+)*\.(?:uk|org|com|net|gov)\b(?:/(?:[\w./-]*[\w/])?)?")
CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d"  # 9:00, 17:30


def _web(match: re.Match[str], words: Catalogue) -> str:
    """www.nhs.uk/conditions → w w w dot N H S dot U K slash conditions (in the language's words)."""
    text = re.sub(r"^https?://", "", match.group(0)).rstrip("/")
    spoken = []
    for part in re.split(r"([./@:_-])", text):
        if part in WEB_SYMBOLS:
            spoken.append(words.text(f"speech.{WEB_SYMBOLS[part]}"))
        elif part:
            spoken.append(SPELLED_WEB_PARTS.get(part.lower(), part))
    return " ".join(spoken)


def _spoken_clock(text: str, words: Catalogue) -> str:
    """17:00 → "17 o'clock" and 9:30 → "9 30", in the language's own pattern."""
    hour, minute = (int(part) for part in text.split(":"))
    return words.text("speech.hour", hour=hour) if minute == 0 else words.text("speech.hour_minute", hour=hour, minute=f"{minute:02d}")


# Emergency and advice lines, and numbers with a leading zero (bleep 0810): digit by digit.
EMERGENCY_RULE: Rule = (re.compile(r"(?<![\d:.,A-Za-z])(?:" + "|".join(EMERGENCY_NUMBERS) + r"|0\d+)(?![\dA-Za-z]|[.,]\d)"),
                        lambda m: spell_digits(m.group(0)))


def _clock_range(match: re.Match[str], words: Catalogue) -> str:
    start, end = (_spoken_clock(text, words) for text in re.findall(CLOCK, match.group(0)))
    return words.text("speech.range", start=start, end=end)


def _address_rules(words: Catalogue) -> list[Rule]:
    """Addresses before anything else touches their dots and slashes; then phone numbers in groups."""
    return [(ADDRESS, lambda m: _web(m, words)), (PHONE, lambda m: _phone(m, words.text("speech.plus")))]


def _time_rules(words: Catalogue) -> list[Rule]:
    """9:00–17:00, 17:00 and 3–4 in the language's own words (English reads times its own way)."""
    return [
        (re.compile(rf"\b{CLOCK}\s?[-–]\s?{CLOCK}\b"), lambda m: _clock_range(m, words)),
        (re.compile(rf"\b{CLOCK}\b"), lambda m: _spoken_clock(m[0], words)),
        (re.compile(r"(?<![\d:.,])(\d+)\s?[-–]\s?(\d+)(?![\d:.,])"), lambda m: words.text("speech.range", start=m[1], end=m[2])),
    ]


def _number_word_rules(words: Catalogue) -> list[Rule]:
    """A number after "ext.", "bleep" or the language's own such words, digit by digit."""
    number_words = sorted(words.entries.get("speech.number_words", []), key=len, reverse=True)
    if not number_words:
        return []
    pattern = "|".join(re.escape(word) for word in number_words)
    return [(re.compile(rf"(?<!\w)({pattern})\s?(\d+)", re.I), lambda m: f"{m[1]} {spell_digits(m[2])}")]


ENGLISH_RULES: list[Rule] = [
    # Extensions digit by digit (after the shared rules, which spell addresses and phone numbers).
    (re.compile(r"\b(?:ext\.?|extension)\s?(\d+)", re.I), lambda m: "extension " + spell_digits(m.group(1))),
    # Dates: 01/06/2025 (day first), 2025-06-01, 1 June 2025, 1-3 June.
    (re.compile(r"\b(?P<d>[0-3]?\d)/(?P<mo>[01]?\d)/(?P<y>\d{4}|\d{2})\b"), _numeric_date),
    (re.compile(r"\b(?P<y>\d{4})-(?P<mo>[01]\d)-(?P<d>[0-3]\d)\b"), _numeric_date),
    (re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?:\s?[-–]\s?(?P<d2>[0-3]?\d)(?:st|nd|rd|th)?)?\s(?:of\s)?"
                rf"(?P<month>{MONTH_PATTERN})\b(?:,?\s(?P<y>\d{{4}})\b)?"), _written_date),
    # Money: £5.50 → 5 pounds 50 (espeak-ng says "pound five").
    (re.compile(r"£(?P<pounds>\d[\d,]*)(?:\.(?P<pence>\d\d))?"), _money),
    # Ranges: Monday-Friday, Mon–Fri, 9am-5pm, 3-4 days.
    (re.compile(rf"\b(?P<a>{DAY_PATTERN})\s?(?:[-–]|\bto\b)\s?(?P<b>{DAY_PATTERN})(?!\w)"), _day_range),
    (re.compile(rf"(?<=\d)(\s?(?:[ap]\.?m\.?|(?:{UNIT_PATTERN})\b)?)\s?[-–]\s?(?=\d)", re.I), r"\1 to "),
    # Times: 9am, 7.30am, 7:30 p.m., "at 9.30", then the 24-hour clock (17:00).
    (re.compile(r"\b(?P<h>1[0-2]|0?[1-9])(?:[.:](?P<m>[0-5]\d))?\s?(?P<ap>[ap]\.m\.?|[ap]m\b)", re.I), _time_12h),
    (re.compile(r"(?:\b(?P<w>at|from|until|till|by|before|after|between|and|to) (?P<dh>[01]?\d|2[0-3])\.(?P<dm>[0-5]\d)"
                r"|\b(?P<h>[01]?\d|2[0-4]):(?P<m>[0-5]\d))\b(?!\s?[ap]\.?m\b)", re.I), _time),
    EMERGENCY_RULE,
    # Units after numbers: 500mg, 5 ml, 37°C; "3 x a day".
    (re.compile(rf"(?P<n>\d+(?:\.\d+)?)\s?(?P<u>{UNIT_PATTERN})\b", re.I), _unit),
    (re.compile(r"(\d+(?:\.\d+)?)\s?°C\b"), r"\1 degrees Celsius"),
    (re.compile(r"(\d+(?:\.\d+)?)\s?°F\b"), r"\1 degrees Fahrenheit"),
    (re.compile(r"\b(\d+)\s?[x×]\s?(?=(?:a|per|each|every)\b)"), r"\1 times "),
    # Titles before names keep no full stop, so the sentence does not end there.
    (re.compile(r"\b(Dr|Mr|Mrs|Ms|Prof|St)\.(?=\s[A-Z])"), r"\1"),
    (re.compile(r"\b[Nn]o\.\s?(?=\d)"), "number "),
]
# After the abbreviations (so "and/or" is caught first): a slash between words is read as "or".
SLASH_RULE: Rule = (re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z])"), " or ")


def _abbreviation_rules() -> list[Rule]:
    rules: list[Rule] = []
    for short, spoken in sorted(ABBREVIATIONS.items(), key=lambda kv: -len(kv[0])):
        start = r"\b" if short[0].isalnum() else ""
        end = r"\b" if short[-1].isalnum() else r"(?!\w)"
        rules.append((re.compile(start + re.escape(short) + end), lambda m, spoken=spoken: spoken + _full_stop(m)))
    return rules


def spell_code(code: str, words: Catalogue) -> str:
    """Read a code such as a resource number one character at a time: 4853/VER2 → 4 8 5 3, slash, V E R 2."""
    parts = []
    for chunk in re.split(r"([/\-.])", code):
        if chunk in ("/", "-", "."):
            parts.append(words.text(f"speech.{WEB_SYMBOLS[chunk]}"))
        elif chunk:
            parts.append(" ".join(chunk.upper()))
    return ", ".join(parts)


# The team's pronunciation list ------------------------------------------------------------

PRONUNCIATION_HINT = "write one 'word: how to say it' a line"


@cache
def load_pronunciations(path: Path) -> dict[str, str]:
    """The team's list of words and how to say them; a missing file means none.

    Every problem is reported as ``<file>:<line>: …``, all at once.
    """
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise InputError.from_yaml(path, err, text, 1, f"the pronunciation list is not valid YAML; {PRONUNCIATION_HINT}") from None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise InputError.at(path, node.start_mark.line + 1, f"the pronunciation list must be 'word: how to say it' lines; {PRONUNCIATION_HINT}")
    words: dict[str, str] = {}
    problems: list[Problem] = []
    for key, value in node.value:
        line = key.start_mark.line + 1
        word = key.value if isinstance(key, yaml.ScalarNode) else ""
        spoken = value.value.strip() if isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:str" else ""
        if not word.strip() or not isinstance(key, yaml.ScalarNode):
            problems.append(Problem(path, line, f"the word to respell is missing; {PRONUNCIATION_HINT}"))
        elif word in words:
            problems.append(Problem(path, line, f"'{word}' is listed twice; keep one line for it"))
        elif not spoken:
            problems.append(Problem(path, line, f"'{word}' has no respelling (or it is not plain text); write '{word}: how to say it'"))
        elif re.search(r"[\n\[\]{}<>]", spoken):
            problems.append(Problem(path, line, f"the respelling of '{word}' must be plain words on one line"))
        else:
            words[word] = spoken
    if problems:
        raise InputError(problems)
    return words


def _keep_capital(original: str, spoken: str) -> str:
    """A respelling starts with a capital where the word did, so sentences still split."""
    return spoken[:1].upper() + spoken[1:] if original[:1].isupper() else spoken


class Normaliser:
    """Turns display text into speakable text for one language, with the words of its catalogue."""

    def __init__(self, words: Catalogue, pronunciations: dict[str, str]):
        english = language_info(words.language).english
        middle = ENGLISH_RULES if english else [*_time_rules(words), EMERGENCY_RULE]
        self.rules: list[Rule] = [*_address_rules(words), *middle, *_number_word_rules(words)]
        if english:
            self.rules += [*_abbreviation_rules(), SLASH_RULE]
        self.symbols = SYMBOLS if english else OTHER_LANGUAGE_SYMBOLS
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
