"""Whisper base, as the service runs it, understands spoken patients in English and French.

The model is real and loaded once per session; the speech is espeak-ng's. Each transcription
costs a second or so on two cores, so this file keeps to a handful.
"""

from __future__ import annotations

from voiceassist_stt.adapters.audio import decode
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.domain.answers import normalise
from voiceassist_stt.domain.recognition import RecognitionOptions

from ..conftest import Speak, word_errors


def test_a_sore_throat_is_heard_in_english(recognizer: WhisperRecognizer, speak: Speak) -> None:
    audio = decode(speak("I have a sore throat."), linear16_rate=None)

    result = recognizer.transcribe(audio, RecognitionOptions(language="en"))

    assert word_errors(normalise("I have a sore throat"), normalise(result.text)) <= 1
    assert "sore throat" in result.text.lower()
    assert result.language_code == "en"


def test_french_is_detected_and_transcribed(recognizer: WhisperRecognizer, speak: Speak) -> None:
    spoken = speak("Bonjour, j'ai très mal à la tête depuis ce matin.", voice="fr-fr")

    result = recognizer.transcribe(decode(spoken, linear16_rate=None), RecognitionOptions())

    assert result.language_code == "fr"
    assert "j'ai très mal à la tête" in result.text.lower()


def test_word_offsets_place_each_word_inside_the_audio(
    recognizer: WhisperRecognizer, speak: Speak
) -> None:
    audio = decode(speak("My knee hurts."), linear16_rate=None)

    result = recognizer.transcribe(audio, RecognitionOptions(language="en", word_offsets=True))

    words = [word for segment in result.segments for word in segment.words]
    assert [normalise(word.text) for word in words][:2] == [["my"], ["knee"]]
    assert all(0 <= word.start <= word.end <= result.duration + 0.1 for word in words)
