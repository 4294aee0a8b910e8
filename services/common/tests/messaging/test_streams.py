"""The event streams exist once, with the declared settings, however often services start."""

from datetime import timedelta
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from voiceassist_common.messaging import (
    AUDIT,
    STREAMS,
    TRIAGE,
    StreamConflictError,
    StreamSpec,
    ensure_streams,
    stream_for,
)


@pytest.mark.parametrize(
    ("subject", "stream"),
    [
        ("audit.record.appended", "AUDIT"),
        ("auth.guest.upgraded", "AUTH"),
        ("triage.completed", "TRIAGE"),
        ("scheduling.appointment.booked", "SCHEDULING"),
        ("voice.turn.completed", "VOICE"),
    ],
)
def test_each_family_has_its_stream(subject: str, stream: str) -> None:
    assert stream_for(subject).name == stream


@pytest.mark.parametrize("subject", ["audit", "triagex.session", "billing.invoice.sent"])
def test_subjects_outside_the_families_have_no_stream(subject: str) -> None:
    with pytest.raises(LookupError):
        stream_for(subject)


def test_every_stream_de_duplicates_and_refuses_large_messages() -> None:
    for spec in STREAMS:
        config = spec.config()
        assert config.storage is StorageType.FILE
        assert config.duplicate_window >= 60
        assert config.max_msg_size is not None
        assert 0 < config.max_msg_size <= 64 * 1024


@pytest.mark.integration
async def test_streams_are_created_once_and_left_alone_afterwards(js: JetStreamContext) -> None:
    before = {spec.name: await js.stream_info(spec.name) for spec in STREAMS}

    await ensure_streams(js)
    await ensure_streams(js)

    for spec in STREAMS:
        after = await js.stream_info(spec.name)
        assert after.created == before[spec.name].created
        assert after.config.subjects == list(spec.subjects)
        assert after.config.max_age == spec.max_age.total_seconds()
        assert after.config.duplicate_window == spec.duplicate_window.total_seconds()


@pytest.mark.integration
async def test_a_stream_that_drifted_is_put_back_without_losing_messages(
    js: JetStreamContext,
) -> None:
    await js.publish("triage.session.started", b"{}", stream="TRIAGE")
    drifted = (await js.stream_info("TRIAGE")).config
    await js.update_stream(drifted.evolve(max_age=3600.0, description="changed by hand"))
    messages = (await js.stream_info("TRIAGE")).state.messages

    await ensure_streams(js)

    info = await js.stream_info("TRIAGE")
    assert info.config.max_age == TRIAGE.max_age.total_seconds()
    assert info.config.description == TRIAGE.description
    assert info.state.messages == messages
    assert (await js.stream_info("AUDIT")).config.discard == AUDIT.discard


@pytest.mark.integration
async def test_a_stream_that_cannot_be_changed_in_place_is_reported(js: JetStreamContext) -> None:
    name = f"TEST_{uuid4().hex[:8].upper()}"
    spec = StreamSpec(
        name=name,
        subjects=(f"{name.lower()}.>",),
        description="declared on file",
        max_age=timedelta(hours=1),
        max_bytes=1024 * 1024,
    )
    await js.add_stream(
        StreamConfig(name=name, subjects=list(spec.subjects), storage=StorageType.MEMORY)
    )
    try:
        with pytest.raises(StreamConflictError, match="storage"):
            await ensure_streams(js, (spec,))
    finally:
        await js.delete_stream(name)
