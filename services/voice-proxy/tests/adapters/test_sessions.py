"""Kept conversations are sealed: the bucket never holds what the patient said.

A sealed value is bound to its session id, so it cannot be replayed under another.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.exceptions import InvalidTag
from voiceassist_voice_proxy.adapters.sessions import (
    MemorySessionStore,
    PreferKvSessionStore,
    SessionRecord,
    StateSealer,
)
from voiceassist_voice_proxy.domain.dialog import Answer, DialogState, Stage

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def a_record(session_id: str = "11111111-1111-4111-8111-111111111111") -> SessionRecord:
    state = DialogState(
        session_id=session_id,
        stage=Stage.INTERVIEW,
        pending="question",
        complaint="my chest hurts",
        answers=[Answer("E_53", present=True)],
    )
    return SessionRecord(state, "patient-1", False, "voice", NOW, NOW)


def test_a_sealed_record_hides_the_patients_words_and_opens_back() -> None:
    sealer = StateSealer(bytes(range(32)))
    record = a_record()
    sealed = sealer.seal(record.state.session_id, record.to_json())
    assert b"chest" not in sealed
    opened = SessionRecord.from_json(sealer.open(record.state.session_id, sealed))
    assert opened.state == record.state


def test_a_sealed_record_does_not_open_under_another_session_id() -> None:
    sealer = StateSealer(bytes(range(32)))
    sealed = sealer.seal("session-a", a_record().to_json())
    with pytest.raises(InvalidTag):
        sealer.open("session-b", sealed)


async def test_without_a_bucket_conversations_are_kept_in_memory() -> None:
    store = PreferKvSessionStore()
    record = a_record()
    await store.save(record)
    loaded = await store.load(record.state.session_id)
    assert loaded is not None
    assert loaded.state.complaint == "my chest hurts"
    assert [r.state.session_id for r in await store.all()] == [record.state.session_id]
    await store.delete(record.state.session_id)
    assert await store.load(record.state.session_id) is None
    assert isinstance(store.memory, MemorySessionStore)
