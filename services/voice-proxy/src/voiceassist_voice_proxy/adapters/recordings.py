"""Where a consenting patient's spoken turns are kept: a NATS object store, every object sealed.

Audio is kept only when the patient opted in (``audio_retention_consent`` in the conversation's
start, shown to them with the consent text; recorded with its time on the `SessionRecord`), for
quality review of the speech pipeline. Each finished spoken turn becomes one object in the
JetStream object store ``voice_recordings``: the turn's 16 kHz mono PCM16 audio as a WAV, sealed
with AES-256-GCM (the same `StateSealer` as kept conversations, under its own key,
VOICE_RECORDING_KEY) with the bucket and object name as associated data, so an object copied
under another name or into another conversation does not open. NATS stores only ciphertext, and
object names hold no patient data: the conversation id and the turn number. The bucket's max
age (VOICE_AUDIO_RETENTION_DAYS) deletes recordings by itself; withdrawing consent deletes the
conversation's recordings at once.

`AudioRecordings.keep` checks the consent itself, so a caller cannot keep audio by mistake; it
never raises into the conversation (a recording that cannot be kept is counted and logged by
error type, never by content). Until NATS answers nothing is kept: audio never waits in memory.
"""

from __future__ import annotations

import io
import logging
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore
from prometheus_client import Counter
from voiceassist_common.logging import safe

from voiceassist_voice_proxy.adapters.sessions import SessionRecord, StateSealer

__all__ = [
    "BUCKET",
    "CONSENT_TIME",
    "SAMPLE_RATE",
    "WITHDRAWAL_TIME",
    "AudioRecordings",
    "KeptTurn",
    "grant_consent",
    "recordings_bucket",
    "withdraw_consent",
]

logger = logging.getLogger(__name__)

BUCKET = "voice_recordings"
SAMPLE_RATE = 16_000
"""The rate the conversation hears at (domain/audio.py resamples every microphone to it)."""
CONSENT_TIME = "audio_retention_consent_time"
"""`SessionRecord.extra` key: when the patient consented (ISO 8601, UTC)."""
WITHDRAWAL_TIME = "audio_retention_withdrawal_time"
"""`SessionRecord.extra` key: when the patient withdrew their consent (ISO 8601, UTC)."""

RECORDINGS = Counter(
    "voiceassist_voice_recordings",
    "Finished spoken turns by what became of their audio: kept, not_consented (nothing kept), "
    "unavailable (NATS not connected yet) or failed.",
    ["outcome"],
)


def grant_consent(record: SessionRecord, now: datetime) -> None:
    """Record that the patient agreed to their audio being kept, and when (once)."""
    if record.audio_retention_consent:
        return
    record.audio_retention_consent = True
    record.extra[CONSENT_TIME] = now.isoformat()
    record.extra.pop(WITHDRAWAL_TIME, None)


def withdraw_consent(record: SessionRecord, now: datetime) -> None:
    """Record that the patient withdrew their consent, and when: nothing more is kept."""
    record.audio_retention_consent = False
    record.extra[WITHDRAWAL_TIME] = now.isoformat()


async def recordings_bucket(js: JetStreamContext, retention: timedelta) -> ObjectStore:
    """Open the ``voice_recordings`` object store, creating it, with ``retention`` as max age.

    An existing bucket whose max age differs (the setting changed) is brought to ``retention``.
    """
    max_age = retention.total_seconds()
    try:
        store = await js.object_store(BUCKET)
    except BucketNotFoundError:
        created = await js.create_object_store(
            BUCKET,
            ObjectStoreConfig(
                description="Sealed audio of consenting patients' spoken turns.",
                ttl=max_age,
                storage=StorageType.FILE,
            ),
        )
        logger.info("created object store %s", safe(BUCKET))
        return created
    config = (await js.stream_info(f"OBJ_{BUCKET}")).config
    if (config.max_age or 0.0) != max_age:
        await js.update_stream(config.evolve(max_age=max_age))
        logger.info("updated object store %s (retention)", safe(BUCKET))
    return store


@dataclass(frozen=True)
class KeptTurn:
    """One kept recording: the conversation, the patient's turn number, the audio as a WAV."""

    session_id: str
    turn: int
    wav: bytes


def _name(session_id: str, turn: int) -> str:
    # A canonical UUID and a number: nothing a patient said or is.
    return f"{uuid.UUID(session_id)}/turn-{turn:04d}.wav"


def _wav(pcm16: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm16)
    return buffer.getvalue()


class AudioRecordings:
    """Keeps, reads back and deletes the sealed recordings of consenting patients' turns.

    ``store`` is None until NATS answers (server.py sets it once the bucket is open); meanwhile
    nothing is kept.
    """

    def __init__(self, sealer: StateSealer, store: ObjectStore | None = None) -> None:
        self._sealer = sealer
        self.store = store

    @staticmethod
    def _bound(name: str) -> str:
        """Return the associated data of object ``name``: its bucket and its name."""
        return f"{BUCKET}/{name}"

    async def keep(self, record: SessionRecord, turn: int, pcm16: bytes) -> bool:
        """Keep turn ``turn``'s 16 kHz PCM16 audio if the patient consented; True if kept.

        Never raises: a recording that cannot be kept does not disturb the conversation.
        """
        if not record.audio_retention_consent or not pcm16:
            RECORDINGS.labels("not_consented").inc()
            return False
        store = self.store
        if store is None:
            RECORDINGS.labels("unavailable").inc()
            return False
        session_id = record.state.session_id
        try:
            name = _name(session_id, turn)
            await store.put(name, self._sealer.seal(self._bound(name), _wav(pcm16)))
            if not record.audio_retention_consent:
                # Withdrawn while this turn was being written: it must not outlive the withdrawal.
                await self._delete(store, name)
                RECORDINGS.labels("not_consented").inc()
                return False
        except Exception as error:  # a lost recording must not end the patient's conversation
            RECORDINGS.labels("failed").inc()
            logger.warning("a turn's audio was not kept: %s", safe(type(error).__name__))
            return False
        RECORDINGS.labels("kept").inc()
        return True

    async def turns(self, session_id: str) -> list[int]:
        """Return the numbers of the turns kept for the conversation, in order."""
        store = self._connected()
        prefix = f"{uuid.UUID(session_id)}/turn-"
        try:
            listed = await store.list(ignore_deletes=True)
        except NotFoundError:  # an empty bucket
            return []
        return sorted(
            int(info.name[len(prefix) :].removesuffix(".wav"))
            for info in listed
            if info.name.startswith(prefix) and not info.deleted
        )

    async def read(self, session_id: str, turn: int) -> KeptTurn | None:
        """Return one kept turn, opened; None when it was never kept, deleted or expired.

        For quality-review tools. Raises `cryptography.exceptions.InvalidTag` when the object
        does not open under this key and name (another key, or moved from another name).
        """
        store = self._connected()
        name = _name(session_id, turn)
        try:
            result = await store.get(name)
        except ObjectNotFoundError:
            return None
        if not result.data:
            raise InvalidTag  # an empty object is nothing this service sealed
        return KeptTurn(session_id, turn, self._sealer.open(self._bound(name), result.data))

    async def read_all(self, session_id: str) -> list[KeptTurn]:
        """Return every kept turn of the conversation, in order."""
        kept = [await self.read(session_id, turn) for turn in await self.turns(session_id)]
        return [turn for turn in kept if turn is not None]

    async def forget(self, session_id: str) -> int:
        """Delete every recording of the conversation; return how many were deleted."""
        store = self._connected()
        turns = await self.turns(session_id)
        for turn in turns:
            await self._delete(store, _name(session_id, turn))
        return len(turns)

    async def withdraw(self, record: SessionRecord, now: datetime) -> int:
        """Record the patient's withdrawal and delete what was kept; return how many deleted.

        Consent is cleared first, so nothing more is kept, even by a turn being written now (see
        `keep`); the caller saves ``record`` afterwards in every case. Raises ConnectionError
        while the bucket is not open (recordings kept earlier could not be deleted yet): the
        caller tells the patient so.
        """
        withdraw_consent(record, now)
        return await self.forget(record.state.session_id)

    def _connected(self) -> ObjectStore:
        if self.store is None:
            raise ConnectionError("the recordings bucket is not open yet")
        return self.store

    @staticmethod
    async def _delete(store: ObjectStore, name: str) -> None:
        try:
            await store.delete(name)
        except ObjectNotFoundError:
            return
