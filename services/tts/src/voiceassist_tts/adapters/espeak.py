"""espeak-ng voices: the fallback for any language, and French until a packaged neural voice.

espeak-ng (Debian package ``espeak-ng``, GPL-3.0-or-later) runs as a separate program: the
service writes the sentence to its standard input (never on the command line, where other users
could read it in the process list) and reads a WAV file from its standard output. Running it as
a subprocess keeps this service's own licence unaffected. It is formant synthesis: intelligible
and instant (about 30 ms a sentence here), robotic to the ear.

No packaged French neural voice could be used: the candidates found on PyPI (paradis-tts, the
lectura-* family) fetch their weights from a model hub at run time, which this platform never
does.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np

from voiceassist_tts.adapters.synthesizer import SynthesisError
from voiceassist_tts.domain.audio import PCM16
from voiceassist_tts.domain.voices import Language, Voice

__all__ = ["ESPEAK_VOICES", "EspeakSynthesizer", "espeak_program"]

_RATE = 22_050
_WORDS_PER_MINUTE = 165
"""A little slower than espeak-ng's 175: patients hear instructions, not a newsreader."""
_TIMEOUT_SECONDS = 30.0

ESPEAK_VOICES: dict[Language, tuple[Voice, str]] = {
    language: (
        Voice(
            voice_id=f"espeak-{language.value}",
            display_name=f"eSpeak NG ({name})",
            language=language,
            engine="espeak-ng",
            license="GPL-3.0-or-later",
            sample_rate=_RATE,
        ),
        espeak_name,
    )
    for language, name, espeak_name in (
        (Language.EN, "English, American", "en-us"),
        (Language.FR, "French", "fr"),
        (Language.UR, "Urdu", "ur"),
    )
}
"""Voice description and espeak-ng voice name per language."""


def espeak_program() -> str | None:
    """Path of the espeak-ng program, or None when the Debian package is not installed."""
    return shutil.which("espeak-ng")


class EspeakSynthesizer:
    """One espeak-ng voice; each sentence is one short-lived process (no shared state)."""

    def __init__(self, language: Language, program: str) -> None:
        self._voice, self._name = ESPEAK_VOICES[language]
        self._program = program
        self.synthesize("ok")  # fails now, with a clear message, if the voice data is missing

    @property
    def voice(self) -> Voice:
        """The espeak-ng voice of this language."""
        return self._voice

    def synthesize(self, text: str, *, speed: float = 1.0) -> PCM16:
        """Render one sentence at 22.05 kHz."""
        command = [
            self._program,
            "-v",
            self._name,
            "-s",
            str(round(_WORDS_PER_MINUTE * speed)),
            "-b",
            "1",  # the input is UTF-8
            "--stdout",
        ]
        try:
            finished = subprocess.run(  # noqa: S603 - fixed program and arguments, text on stdin
                command,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SynthesisError(f"espeak-ng did not run ({type(error).__name__})") from None
        if finished.returncode != 0:
            raise SynthesisError(f"espeak-ng exited with status {finished.returncode}")
        return _wav_samples(finished.stdout)


def _wav_samples(wav: bytes) -> PCM16:
    """Return the PCM16 samples of espeak-ng's WAV output.

    Written to a pipe, its header's sizes cannot be trusted (espeak-ng cannot seek back to fill
    them in), so the data runs from the ``data`` chunk to the end of the output.
    """
    if len(wav) < 12 or wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng wrote no WAV audio")
    position = 12
    while position + 8 <= len(wav):
        chunk, size = (
            wav[position : position + 4],
            struct.unpack("<I", wav[position + 4 : position + 8])[0],
        )
        position += 8
        if chunk == b"fmt ":
            channels, rate, bits = (
                struct.unpack("<H", wav[position + 2 : position + 4])[0],
                struct.unpack("<I", wav[position + 4 : position + 8])[0],
                struct.unpack("<H", wav[position + 14 : position + 16])[0],
            )
            if (channels, rate, bits) != (1, _RATE, 16):
                raise SynthesisError("espeak-ng wrote an unexpected audio format")
        elif chunk == b"data":
            data = wav[position:]
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)
        position += size
    raise SynthesisError("espeak-ng wrote no audio data")
