"""Where conversations wait between turns: a NATS KV bucket, encrypted, or memory.

A conversation must survive a dropped connection (a patient's phone changes network mid
sentence) and a restarted voice-proxy, and any replica must be able to pick it up: so its state
goes to the JetStream key-value bucket ``voice_sessions`` after every turn, with a time to live
(an abandoned conversation disappears by itself). The state holds what the patient said, so it
is sealed with AES-256-GCM (the session id as associated data, so a value cannot be replayed
under another key) before it leaves the process; NATS stores only ciphertext.

`MemorySessionStore` keeps them in the process: for tests of other things and for a voice-proxy
running while NATS is down (conversations then do not survive a restart; the service logs it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from voiceassist_voice_proxy.domain.dialog import DialogState

__all__ = [
    "BUCKET",
    "KvSessionStore",
    "MemorySessionStore",
    "SessionRecord",
    "SessionStore",
    "StateSealer",
]

BUCKET = "voice_sessions"


@dataclass
class SessionRecord:
    """One conversation: who it belongs to, its dialog state, and its times."""

    state: DialogState
    patient_subject: str
    guest: bool
    channel: str
    """"voice" or "text"."""
    start_time: datetime
    last_activity_time: datetime
    end_time: datetime | None = None
    audio_retention_consent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """Serialise for the bucket (before sealing)."""
        return json.dumps(
            {
                "state": self.state.to_dict(),
                "patient_subject": self.patient_subject,
                "guest": self.guest,
                "channel": self.channel,
                "start_time": self.start_time.isoformat(),
                "last_activity_time": self.last_activity_time.isoformat(),
                "end_time": self.end_time.isoformat() if self.end_time else None,
                "audio_retention_consent": self.audio_retention_consent,
                "extra": self.extra,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SessionRecord:
        """Rebuild a record written by `to_json`."""
        raw = json.loads(data)
        return cls(
            state=DialogState.from_dict(raw["state"]),
            patient_subject=raw["patient_subject"],
            guest=raw["guest"],
            channel=raw["channel"],
            start_time=datetime.fromisoformat(raw["start_time"]),
            last_activity_time=datetime.fromisoformat(raw["last_activity_time"]),
            end_time=datetime.fromisoformat(raw["end_time"]) if raw["end_time"] else None,
            audio_retention_consent=raw["audio_retention_consent"],
            extra=raw.get("extra", {}),
        )


class StateSealer:
    """AES-256-GCM over a record, bound to its session id."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, session_id: str, plain: bytes) -> bytes:
        """Encrypt ``plain``; the 12-byte nonce leads the ciphertext."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plain, session_id.encode())

    def open(self, session_id: str, sealed: bytes) -> bytes:
        """Decrypt what `seal` produced for the same session id (raises if tampered)."""
        return self._aead.decrypt(sealed[:12], sealed[12:], session_id.encode())


class SessionStore(Protocol):
    """Keeps conversations between turns."""

    async def save(self, record: SessionRecord) -> None:
        """Store the record under its session id."""
        ...

    async def load(self, session_id: str) -> SessionRecord | None:
        """Return the record, or None when it expired or never existed."""
        ...

    async def delete(self, session_id: str) -> None:
        """Forget the conversation."""
        ...

    async def all(self) -> list[SessionRecord]:
        """Return every kept conversation (operations: ListSessions)."""
        ...


class MemorySessionStore:
    """`SessionStore` in process memory (no restart survival)."""

    def __init__(self) -> None:
        self._records: dict[str, bytes] = {}

    async def save(self, record: SessionRecord) -> None:
        """Store a copy (later changes to ``record`` are not seen until saved again)."""
        self._records[record.state.session_id] = record.to_json()

    async def load(self, session_id: str) -> SessionRecord | None:
        """Return a copy of the record, or None."""
        data = self._records.get(session_id)
        return None if data is None else SessionRecord.from_json(data)

    async def delete(self, session_id: str) -> None:
        """Forget it."""
        self._records.pop(session_id, None)

    async def all(self) -> list[SessionRecord]:
        """Return copies of every record."""
        return [SessionRecord.from_json(data) for data in self._records.values()]


_KEY_SAFE = str.maketrans({c: "_" for c in "*>. "})


class KvSessionStore:
    """`SessionStore` on a JetStream key-value bucket, every value sealed."""

    def __init__(self, bucket: KeyValue, sealer: StateSealer) -> None:
        self._bucket = bucket
        self._sealer = sealer

    @staticmethod
    def _key(session_id: str) -> str:
        return session_id.translate(_KEY_SAFE)

    async def save(self, record: SessionRecord) -> None:
        """Seal and put the record."""
        session_id = record.state.session_id
        await self._bucket.put(
            self._key(session_id), self._sealer.seal(session_id, record.to_json())
        )

    async def load(self, session_id: str) -> SessionRecord | None:
        """Get and open the record; None when missing, expired or deleted."""
        try:
            entry = await self._bucket.get(self._key(session_id))
        except KeyNotFoundError:
            return None
        if entry.value is None or not entry.value:
            return None
        return SessionRecord.from_json(self._sealer.open(session_id, entry.value))

    async def delete(self, session_id: str) -> None:
        """Delete the key (a tombstone; the bucket's TTL purges the rest)."""
        try:
            await self._bucket.delete(self._key(session_id))
        except KeyNotFoundError:
            return

    async def all(self) -> list[SessionRecord]:
        """Return every live record."""
        try:
            keys = await self._bucket.keys()
        except Exception:  # nats raises NoKeysError when the bucket is empty
            return []
        records = []
        for key in keys:
            try:
                entry = await self._bucket.get(key)
            except KeyNotFoundError:
                continue
            if entry.value:
                records.append(SessionRecord.from_json(self._sealer.open(key, entry.value)))
        return records


class PreferKvSessionStore:
    """Memory until the KV bucket is reachable, the bucket from then on.

    The voice-proxy answers while NATS is down (a conversation then lives only in this process)
    and moves to the bucket as soon as it connects; a conversation kept in memory is written to
    the bucket at its next turn.
    """

    def __init__(self) -> None:
        self.memory = MemorySessionStore()
        self.kv: KvSessionStore | None = None

    async def save(self, record: SessionRecord) -> None:
        """Save to the bucket when connected, else to memory."""
        if self.kv is not None:
            await self.kv.save(record)
            await self.memory.delete(record.state.session_id)
        else:
            await self.memory.save(record)

    async def load(self, session_id: str) -> SessionRecord | None:
        """Look in the bucket, then in memory."""
        if self.kv is not None:
            found = await self.kv.load(session_id)
            if found is not None:
                return found
        return await self.memory.load(session_id)

    async def delete(self, session_id: str) -> None:
        """Forget it everywhere."""
        if self.kv is not None:
            await self.kv.delete(session_id)
        await self.memory.delete(session_id)

    async def all(self) -> list[SessionRecord]:
        """Return the records of both places."""
        kept = await self.kv.all() if self.kv is not None else []
        return kept + await self.memory.all()
