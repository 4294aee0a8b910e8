"""A patient's audio is kept only with their consent, sealed, for a limited time, and deletable.

Against a real NATS server with JetStream: what lands in the object store is ciphertext under a
name without patient data, it opens back to the very audio heard, only under its own key and
name, and withdrawing consent deletes the conversation's recordings.
"""

from __future__ import annotations

import base64
import io
import os
import uuid
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore
from voiceassist_common.messaging import connect
from voiceassist_voice_proxy.adapters.recordings import (
    BUCKET,
    CONSENT_TIME,
    WITHDRAWAL_TIME,
    AudioRecordings,
    grant_consent,
    recordings_bucket,
)
from voiceassist_voice_proxy.adapters.sessions import SessionRecord, StateSealer
from voiceassist_voice_proxy.config import Settings
from voiceassist_voice_proxy.domain.dialog import DialogState

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
KEY = bytes(range(32))
RETENTION = timedelta(days=30)


def a_turn(seconds: float = 0.5, pitch: float = 220.0) -> bytes:
    """Return a spoken-like tone as 16 kHz PCM16 (what the conversation hears)."""
    t = np.arange(int(16_000 * seconds)) / 16_000
    samples = 0.3 * np.sin(2 * np.pi * pitch * t)
    return (samples * 32767).astype("<i2").tobytes()


def pcm_of(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (1, 2, 16_000)
        return audio.readframes(audio.getnframes())


def a_conversation(*, consent: bool) -> SessionRecord:
    record = SessionRecord(
        DialogState(session_id=str(uuid.uuid4())), "patient-1", False, "voice", NOW, NOW
    )
    if consent:
        grant_consent(record, NOW)
    return record


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client: Client = await connect(nats_url, name="voice-recordings-test")
    try:
        yield client.jetstream()
    finally:
        await client.close()


@pytest.fixture
async def bucket(js: JetStreamContext) -> ObjectStore:
    return await recordings_bucket(js, RETENTION)


@pytest.fixture
def recordings(bucket: ObjectStore) -> AudioRecordings:
    return AudioRecordings(StateSealer(KEY), bucket)


async def test_without_consent_nothing_is_kept(recordings: AudioRecordings) -> None:
    record = a_conversation(consent=False)

    assert await recordings.keep(record, 1, a_turn()) is False

    assert await recordings.turns(record.state.session_id) == []
    assert await recordings.read(record.state.session_id, 1) is None


async def test_a_consenting_patients_turn_is_kept_sealed_and_reads_back_as_heard(
    recordings: AudioRecordings, bucket: ObjectStore
) -> None:
    record = a_conversation(consent=True)
    session_id = record.state.session_id
    first, second = a_turn(pitch=220.0), a_turn(seconds=0.8, pitch=330.0)

    assert await recordings.keep(record, 1, first)
    assert await recordings.keep(record, 2, second)

    # What NATS holds: a name with only the conversation id and turn, and no WAV in the clear.
    sealed = (await bucket.get(f"{session_id}/turn-0001.wav")).data or b""
    assert len(sealed) > len(first)
    assert b"RIFF" not in sealed
    assert b"WAVE" not in sealed
    assert first[1000:1064] not in sealed
    kept = await recordings.read_all(session_id)
    assert [turn.turn for turn in kept] == [1, 2]
    assert [pcm_of(turn.wav) for turn in kept] == [first, second]
    assert record.extra[CONSENT_TIME] == NOW.isoformat()


async def test_a_recording_does_not_open_under_another_key(
    recordings: AudioRecordings, bucket: ObjectStore
) -> None:
    record = a_conversation(consent=True)
    assert await recordings.keep(record, 1, a_turn())

    thief = AudioRecordings(StateSealer(bytes(32)), bucket)
    with pytest.raises(InvalidTag):
        await thief.read(record.state.session_id, 1)


async def test_a_recording_moved_to_another_name_does_not_open(
    recordings: AudioRecordings, bucket: ObjectStore
) -> None:
    record = a_conversation(consent=True)
    other = a_conversation(consent=True)
    assert await recordings.keep(record, 1, a_turn())
    sealed = (await bucket.get(f"{record.state.session_id}/turn-0001.wav")).data or b""

    # Copied into another conversation, and under another turn of the same one.
    await bucket.put(f"{other.state.session_id}/turn-0001.wav", sealed)
    await bucket.put(f"{record.state.session_id}/turn-0002.wav", sealed)

    with pytest.raises(InvalidTag):
        await recordings.read(other.state.session_id, 1)
    with pytest.raises(InvalidTag):
        await recordings.read(record.state.session_id, 2)


async def test_withdrawing_consent_deletes_the_conversations_recordings_and_keeps_no_more(
    recordings: AudioRecordings,
) -> None:
    record = a_conversation(consent=True)
    bystander = a_conversation(consent=True)
    for turn in (1, 2, 3):
        assert await recordings.keep(record, turn, a_turn())
    assert await recordings.keep(bystander, 1, a_turn())

    deleted = await recordings.withdraw(record, NOW + timedelta(minutes=2))

    assert deleted == 3
    assert await recordings.turns(record.state.session_id) == []
    assert await recordings.read(record.state.session_id, 2) is None
    assert record.audio_retention_consent is False
    assert record.extra[WITHDRAWAL_TIME] == (NOW + timedelta(minutes=2)).isoformat()
    assert await recordings.keep(record, 4, a_turn()) is False
    assert await recordings.turns(record.state.session_id) == []
    # Another patient's recordings are untouched.
    assert await recordings.turns(bystander.state.session_id) == [1]


async def test_until_nats_answers_nothing_is_kept() -> None:
    recordings = AudioRecordings(StateSealer(KEY))

    assert await recordings.keep(a_conversation(consent=True), 1, a_turn()) is False


async def test_the_bucket_expires_recordings_after_the_retention_setting(
    js: JetStreamContext,
) -> None:
    await recordings_bucket(js, timedelta(days=7))
    assert (await js.stream_info(f"OBJ_{BUCKET}")).config.max_age == timedelta(
        days=7
    ).total_seconds()

    await recordings_bucket(js, RETENTION)
    status = await (await js.object_store(BUCKET)).status()
    assert status.ttl == RETENTION.total_seconds()


def test_production_refuses_the_development_recording_key_and_a_reused_session_key() -> None:
    session_key = base64.b64encode(os.urandom(32)).decode()
    recording_key = base64.b64encode(os.urandom(32)).decode()

    with pytest.raises(ValueError, match="VOICE_RECORDING_KEY: the development key"):
        Settings(environment="prod", voice_session_key=session_key)
    with pytest.raises(ValueError, match="must differ from VOICE_SESSION_KEY"):
        Settings(voice_session_key=session_key, voice_recording_key=session_key)
    settings = Settings(
        environment="prod", voice_session_key=session_key, voice_recording_key=recording_key
    )
    assert settings.recording_key == base64.b64decode(recording_key)
    assert settings.voice_audio_retention_days == 30
