"""Speech: the audio script (what the recording says, normalised per language), and the engines
and voices that speak it.

- ``script``: the leaflet as chapters of utterances, with the spoken stamp and duration;
- ``normalise``: numbers, phone numbers, times, units and pronunciations made speakable;
- ``voices``: which installed voice speaks a language (settings, ranking, licences);
- ``espeak``, ``rhvoice``, ``pico``: the engines, each speaking a sentence to samples.
"""

from .script import Chapter, Script, Utterance, block_text, build_script, duration_sentence, split_sentences, word_count

__all__ = ["Chapter", "Script", "Utterance", "block_text", "build_script", "duration_sentence", "split_sentences", "word_count"]
