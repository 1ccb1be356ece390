"""Which voice speaks a leaflet: the engines behind one small interface, and the choice among their voices.

Every engine lists its installed voices (engine, id, language) and opens a `Speaker` for one
of them, which speaks sentences to float32 mono samples at a known rate. The choice for a
language is, in order:

1. ``audio.voices`` in the settings, by language tag then base language (``en: rhvoice:alan``);
2. ``audio.voice``, an espeak-ng voice id (the setting before there were other engines);
3. the ranked list in layouts/voices.yaml: the first installed voice of the language whose
   licence lets a trust publish its recordings, a voice of the exact region before others;
4. espeak-ng, which speaks every language (the language catalogue may name its voice).

Nothing here imports an engine until a voice is needed: the incremental build asks only for
`fingerprint`, which reads file dates.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import RenderError
from ..settings import AudioOptions, Settings

log = logging.getLogger(__name__)

VOICES_FILE = "voices.yaml"
FADE_MS = 8  # a short fade at each end of every utterance, so joins never click
EDGE_MS = 15  # silence kept at each end of an utterance before its pause is added


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak", "mbrola", "rhvoice", "pico"
    id: str  # the engine's own name for it: "gmw/en-gb-x-rp", "en1", "alan", "en-GB"
    language: str  # BCP 47, lower case

    @property
    def key(self) -> str:
        """How settings and the manifest name it: ``engine:id``."""
        return f"{self.engine}:{self.id}"


ENGINE_TITLES = {"rhvoice": "RHVoice", "pico": "SVOX Pico", "mbrola": "MBROLA through eSpeak NG", "espeak": "eSpeak NG"}


def voice_credit(voice: Voice) -> str:
    """The engine's name, as the MP3's comment credits it."""
    return ENGINE_TITLES.get(voice.engine, voice.engine)


@dataclass(frozen=True)
class KnownVoice:
    """A voice of layouts/voices.yaml: its rank is its place in the file."""

    key: str
    language: str
    licence: str
    publish: bool  # the licence lets a trust publish recordings made with it
    package: str = ""  # the Debian package that installs it


class Speaker:
    """One voice, ready to speak: sentences in, float32 mono samples out (trimmed to EDGE_MS of
    silence at each end and faded in and out), all at ``sample_rate``."""

    voice: Voice
    sample_rate: int = 0
    words_per_minute: int = 155

    def speak_all(self, texts: Sequence[str]) -> list:
        raise NotImplementedError

    def speak(self, text: str):
        return self.speak_all([text])[0]

    def close(self) -> None:
        """Free what the engine holds for this voice."""

    def command_line(self, script: Path, wav: Path) -> list[str]:
        """The engine's own command line speaking a whole script file to a WAV, for the benchmark's floor."""
        raise NotImplementedError


@dataclass(frozen=True)
class Engine:
    name: str
    voices: Callable[[], list[Voice]]  # installed voices; [] when the engine is not installed
    speaker: Callable[[Voice, AudioOptions], Speaker]
    fingerprint: Callable[[], str]  # changes when the engine or its voices are upgraded
    has_voice: Callable[[str], bool]  # from its files alone: loads no engine (safe before a process forks)


def engines() -> dict[str, Engine]:
    from . import espeak, pico, rhvoice

    return {engine.name: engine for engine in (*espeak.ENGINES, rhvoice.ENGINE, pico.ENGINE)}


@functools.cache
def installed_voices() -> tuple[Voice, ...]:
    found: list[Voice] = []
    for engine in engines().values():
        try:
            found.extend(engine.voices())
        except (OSError, RuntimeError) as err:  # an engine that is broken is treated as absent
            log.debug("speech engine %s unavailable: %s", engine.name, err)
    return tuple(found)


def fingerprint() -> str:
    """Every engine's version and voice files, for the incremental build (cheap: no engine is loaded)."""
    return "\n".join(f"{name}={engine.fingerprint()}" for name, engine in sorted(engines().items()))


@functools.cache
def known_voices(layouts_dir: Path) -> tuple[KnownVoice, ...]:
    path = layouts_dir / VOICES_FILE
    if not path.is_file():
        return ()
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return tuple(KnownVoice(key=str(entry["voice"]), language=str(entry["language"]).lower(), licence=str(entry.get("licence", "")),
                            publish=bool(entry.get("publish", False)), package=str(entry.get("package", "")))
                 for entry in data.get("voices", []))


def _base(tag: str) -> str:
    return tag.lower().split("-")[0]


def _setting_for(language: str, voices: tuple[tuple[str, str], ...]) -> tuple[str, str] | None:
    """The ``audio.voices`` entry for a language: the whole tag first, then its base language."""
    lowered = {tag.lower(): key for tag, key in voices}
    for tag in (language.lower(), _base(language)):
        if tag in lowered:
            return tag, lowered[tag]
    return None


def ranked(language: str, layouts_dir: Path, publishable_only: bool = True) -> list[KnownVoice]:
    """The known voices of a language, best first: those of the exact tag, then the rest of the base language."""
    tag = language.lower()
    same = [v for v in known_voices(layouts_dir) if _base(v.language) == _base(tag) and (v.publish or not publishable_only)]
    return sorted(same, key=lambda v: v.language != tag)  # stable: the file's order within each group


def choose_voice(language: str, settings: Settings, preferred_espeak: str = "") -> Voice:
    """The installed voice that speaks ``language`` (see the module's docstring for the order)."""
    installed = {voice.key: voice for voice in installed_voices()}
    setting = _setting_for(language, settings.audio.voices)
    if setting is not None:
        tag, key = setting
        if key in installed:
            return installed[key]
        raise RenderError(f"audio.voices sets '{key}' for '{tag}', but that voice is not installed; install it "
                          f"({_install_hint(key, settings)}) or remove the setting to choose by ranking")
    if settings.audio.voice:
        from .espeak import espeak_voice

        return espeak_voice(language, settings.audio.voice)
    for known in ranked(language, settings.layouts_dir):
        if known.key in installed:
            return installed[known.key]
    from .espeak import espeak_voice

    return espeak_voice(language, "", preferred_espeak)


def _install_hint(key: str, settings: Settings) -> str:
    package = next((v.package for v in known_voices(settings.layouts_dir) if v.key == key), "")
    return f"Debian package {package}; make installs the default English voice" if package else "see the README's audio section"


def missing_recommendation(language: str, settings: Settings) -> KnownVoice | None:
    """The best publishable voice of the language that is not installed when the choice fell back to
    espeak-ng, for one warning; None when a voice was set or a better one is installed."""
    if _setting_for(language, settings.audio.voices) or settings.audio.voice:
        return None
    candidates = ranked(language, settings.layouts_dir)
    if not candidates or any(has_voice(known.key) for known in candidates):
        return None
    return candidates[0]


def has_voice(key: str) -> bool:
    """Whether a voice is installed, from its files: the build's coordinator asks before its workers start."""
    engine, _, name = key.partition(":")
    found = engines().get(engine)
    return found is not None and found.has_voice(name)


def open_speaker(voice: Voice, options: AudioOptions) -> Speaker:
    return engines()[voice.engine].speaker(voice, options)


# Shared by the engines: the edges of an utterance ------------------------------------------


def trim(samples, rate: int, floor: int = 0):
    """int16 samples keeping at most EDGE_MS of quiet at either end: exact silence for engines that
    write it (floor 0), else quieter than ``floor`` in every 10 ms (an engine's noise between words)."""
    import numpy as np

    edge = rate * EDGE_MS // 1000
    if floor == 0:
        sound = np.flatnonzero(samples)
        if not sound.size:
            return samples[:0]
        return samples[max(0, sound[0] - edge): sound[-1] + 1 + edge]
    frame = max(1, rate // 100)
    count = samples.size // frame
    if not count:
        return samples
    peaks = np.abs(samples[: count * frame].astype(np.int32)).reshape(count, frame).max(axis=1)
    loud = np.flatnonzero(peaks > floor)
    if not loud.size:
        return samples[:0]
    return samples[max(0, loud[0] * frame - edge): min(samples.size, (loud[-1] + 1) * frame + edge)]


def fade(samples, rate: int):
    """float32 samples from int16 ones, rising from and falling to silence over FADE_MS."""
    import numpy as np

    samples = samples.astype(np.float32) / 32768.0
    n = min(samples.size // 2, rate * FADE_MS // 1000)
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def files_fingerprint(paths: Iterable[Path]) -> str:
    """Each file's path, size and date: changes when a package installs, removes or upgrades one."""
    return "|".join(f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}" for path in paths if path.is_file())


def utterance(text: str, samples, rate: int, speaker: Speaker, floor: int, engine: str):
    """One sentence's int16 samples from an engine, checked for length and shaped as every
    engine's are (trimmed to EDGE_MS of quiet, faded); a RenderError naming ``engine`` if they
    cannot be the sentence."""
    if not plausible(text, samples, rate or 1, speaker.words_per_minute):
        raise RenderError(f"{engine} produced no usable audio for: {text[:60]!r}")
    return fade(trim(samples, rate, floor), rate)


def plausible(text: str, samples, rate: int, words_per_minute: int) -> bool:
    """The sound lasts about as long as its words take at the chosen rate (counted in any script)."""
    from .script import word_count

    expected = max(1, word_count(text)) * 60 / words_per_minute
    seconds = samples.size / rate
    return 0.25 * expected <= seconds <= 4 * expected + 2
