"""SVOX Pico through its command line, pico2wave (Debian's libttspico-utils), one sentence per call.

Pico speaks British and American English, German, Spanish, French and Italian, far more
clearly than espeak-ng (the README's intelligibility table). pico2wave starts in about 15 ms,
so one call per sentence costs little; its pauses are not silent, so sentences are never cut
out of a longer call. The rate is Pico's own markup, ``<speed level="N">``, in percent.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

from ..errors import RenderError
from ..settings import AudioOptions
from .voices import Engine, Speaker, Voice, files_fingerprint, utterance

PROGRAM = "pico2wave"
LINGWARE = Path("/usr/share/pico/lang")
DEFAULT_WPM = 160  # en-GB at speed 100 on the example leaflet's script (measured here)
NOISE_FLOOR = 200  # peak of Pico's quiet in 10 ms (int16)
TIMEOUT_SECONDS = 60
_MARKUP = re.compile(r"[<>]")  # Pico reads <...> as its own markup


@functools.cache
def _voices_cached() -> tuple[Voice, ...]:
    if shutil.which(PROGRAM) is None or not LINGWARE.is_dir():
        return ()
    languages = sorted({path.name.split("_")[0] for path in LINGWARE.glob("*_ta.bin")})
    return tuple(Voice("pico", language, language.lower()) for language in languages)


def _fingerprint() -> str:
    if shutil.which(PROGRAM) is None or not LINGWARE.is_dir():
        return "absent"
    return files_fingerprint([Path(shutil.which(PROGRAM) or PROGRAM), *sorted(LINGWARE.glob("*"))])


class PicoSpeaker(Speaker):
    def __init__(self, voice: Voice, options: AudioOptions):
        self.voice = voice
        self.words_per_minute = options.rate
        self.speed = round(100 * options.rate / DEFAULT_WPM)
        self.sample_rate = 0
        self._workdir = tempfile.TemporaryDirectory(prefix="leafpress-pico-")

    def close(self) -> None:
        self._workdir.cleanup()

    def _command(self, text: str, wav: Path) -> list[str]:
        return [PROGRAM, "-l", self.voice.id, "-w", str(wav), f'<speed level="{self.speed}">{_MARKUP.sub(" ", text)}</speed>']

    def command_line(self, script: Path, wav: Path) -> list[str]:
        return self._command(script.read_text(encoding="utf-8"), wav)

    def speak_all(self, texts: Sequence[str]) -> list:
        return [self._speak(text) for text in texts]

    def _speak(self, text: str):
        import numpy as np

        target = Path(self._workdir.name) / "utterance.wav"
        try:
            subprocess.run(self._command(text, target), capture_output=True, timeout=TIMEOUT_SECONDS, check=True)
            with wave.open(str(target), "rb") as file:
                rate, samples = file.getframerate(), np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
        except (OSError, subprocess.SubprocessError, wave.Error) as err:
            raise RenderError(f"pico2wave failed on {text[:60]!r} ({err})") from err
        finally:
            target.unlink(missing_ok=True)
        self.sample_rate = rate
        return utterance(text, samples, rate, self, NOISE_FLOOR, PROGRAM)


ENGINE = Engine("pico", voices=lambda: list(_voices_cached()), speaker=PicoSpeaker, fingerprint=_fingerprint,
                has_voice=lambda name: shutil.which(PROGRAM) is not None and (LINGWARE / f"{name}_ta.bin").is_file())
