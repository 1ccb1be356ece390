"""RHVoice through its C library (libRHVoice.so.5, from Debian's rhvoice packages), one message per sentence.

RHVoice is a statistical parametric synthesiser: far easier to understand than espeak-ng's
formant voice (the README's intelligibility table), about 20 times faster than real time. Its
library hands the samples of each message to a callback, so every sentence comes back alone,
with no cutting at silences (RHVoice's pauses are quiet, not silent). The English voices Alan,
Bdl, Clb and Slt are LGPL-2.1+; its other voices are CC-BY-NC-ND (layouts/voices.yaml).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Sequence
from pathlib import Path

from ..errors import RenderError
from ..settings import AudioOptions
from .voices import Engine, Speaker, Voice, files_fingerprint, utterance

LIBRARY = "libRHVoice.so.5"
DATA = Path("/usr/share/RHVoice")
CONFIG = Path("/etc/RHVoice")
PROGRAM = "RHVoice-test"
DEFAULT_WPM = 167  # Alan at rate 1.0 on the example leaflet's script (measured here)
NOISE_FLOOR = 400  # peak of RHVoice's quiet between phrases in 10 ms (int16); speech is well above

_SET_RATE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
_PLAY = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_uint, ctypes.c_void_p)


class _Callbacks(ctypes.Structure):
    _fields_ = [("set_sample_rate", _SET_RATE), ("play_speech", _PLAY), ("process_mark", ctypes.c_void_p),
                ("word_starts", ctypes.c_void_p), ("word_ends", ctypes.c_void_p), ("sentence_starts", ctypes.c_void_p),
                ("sentence_ends", ctypes.c_void_p), ("play_audio", ctypes.c_void_p), ("done", ctypes.c_void_p)]


class _InitParams(ctypes.Structure):
    _fields_ = [("data_path", ctypes.c_char_p), ("config_path", ctypes.c_char_p), ("resource_paths", ctypes.POINTER(ctypes.c_char_p)),
                ("callbacks", _Callbacks), ("options", ctypes.c_uint)]


class _VoiceInfo(ctypes.Structure):
    _fields_ = [("language", ctypes.c_char_p), ("name", ctypes.c_char_p), ("gender", ctypes.c_int), ("country", ctypes.c_char_p)]


class _SynthParams(ctypes.Structure):
    _fields_ = [("voice_profile", ctypes.c_char_p), ("absolute_rate", ctypes.c_double), ("absolute_pitch", ctypes.c_double),
                ("absolute_volume", ctypes.c_double), ("relative_rate", ctypes.c_double), ("relative_pitch", ctypes.c_double),
                ("relative_volume", ctypes.c_double), ("punctuation_mode", ctypes.c_int), ("punctuation_list", ctypes.c_char_p),
                ("capitals_mode", ctypes.c_int), ("flags", ctypes.c_int)]


class _Library:
    """libRHVoice and one engine of it for this process, collecting each message's samples."""

    def __init__(self) -> None:
        try:
            lib = ctypes.CDLL(LIBRARY)
        except OSError as err:
            raise RuntimeError(f"{LIBRARY} is not installed ({err})") from err
        lib.RHVoice_get_version.restype = ctypes.c_char_p
        lib.RHVoice_new_tts_engine.restype = ctypes.c_void_p
        lib.RHVoice_new_tts_engine.argtypes = [ctypes.POINTER(_InitParams)]
        lib.RHVoice_get_number_of_voices.argtypes = [ctypes.c_void_p]
        lib.RHVoice_get_voices.restype = ctypes.POINTER(_VoiceInfo)
        lib.RHVoice_get_voices.argtypes = [ctypes.c_void_p]
        lib.RHVoice_new_message.restype = ctypes.c_void_p
        lib.RHVoice_new_message.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint, ctypes.c_int,
                                            ctypes.POINTER(_SynthParams), ctypes.c_void_p]
        lib.RHVoice_speak.argtypes = [ctypes.c_void_p]
        lib.RHVoice_delete_message.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.version = lib.RHVoice_get_version().decode()
        self.rate = 0
        self.chunks: list = []
        self._callbacks = _Callbacks(_SET_RATE(self._set_rate), _PLAY(self._play))  # kept alive with the engine
        params = _InitParams(str(DATA).encode(), str(CONFIG).encode(), None, self._callbacks, 0)
        self.engine = lib.RHVoice_new_tts_engine(ctypes.byref(params))
        if not self.engine:
            raise RuntimeError(f"RHVoice found no voices in {DATA}")

    def _set_rate(self, rate: int, _user) -> int:
        self.rate = rate
        return 1

    def _play(self, samples, count: int, _user) -> int:
        import numpy as np

        self.chunks.append(np.ctypeslib.as_array(samples, (count,)).copy())
        return 1

    def voices(self) -> list[Voice]:
        infos = self.lib.RHVoice_get_voices(self.engine)
        found = []
        for i in range(self.lib.RHVoice_get_number_of_voices(self.engine)):
            name, language = infos[i].name.decode(), infos[i].language.decode().lower()
            found.append(Voice("rhvoice", name.lower(), language))
        return found

    def speak(self, text: str, params: _SynthParams):
        import numpy as np

        self.chunks = []
        data = text.encode("utf-8")
        message = self.lib.RHVoice_new_message(self.engine, data, len(data), 0, ctypes.byref(params), None)
        if not message:
            raise RenderError(f"RHVoice could not take the sentence {text[:60]!r}")
        try:
            self.lib.RHVoice_speak(message)
        finally:
            self.lib.RHVoice_delete_message(message)
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)


@functools.cache
def _library() -> _Library:
    return _Library()


def _voices() -> list[Voice]:
    if not DATA.is_dir():
        return []
    return _library().voices()


def _fingerprint() -> str:
    if not DATA.is_dir():
        return "absent"
    return files_fingerprint(sorted(DATA.rglob("*")))


class RHVoiceSpeaker(Speaker):
    def __init__(self, voice: Voice, options: AudioOptions):
        self.voice = voice
        self.words_per_minute = options.rate
        self._library = _library()
        # rate, pitch and volume: absolute 0 is the voice's own; the rate is scaled relative to it
        self._params = _SynthParams(voice.id.encode(), 0.0, 0.0, 0.0, options.rate / DEFAULT_WPM, 1.0, 1.0, 0, None, 0, 0)
        self.sample_rate = 0

    def command_line(self, script: Path, wav: Path) -> list[str]:
        percent = round(100 * self.words_per_minute / DEFAULT_WPM)
        return [PROGRAM, "-p", self.voice.id, "-r", str(percent), "-i", str(script), "-o", str(wav)]

    def speak_all(self, texts: Sequence[str]) -> list:
        sounds = []
        for text in texts:
            samples = self._library.speak(text, self._params)
            self.sample_rate = self._library.rate
            sounds.append(utterance(text, samples, self.sample_rate, self, NOISE_FLOOR, "RHVoice"))
        return sounds


ENGINE = Engine("rhvoice", voices=_voices, speaker=RHVoiceSpeaker, fingerprint=_fingerprint,
                has_voice=lambda name: (DATA / "voices" / name).is_dir() and ctypes.util.find_library("RHVoice") is not None)
