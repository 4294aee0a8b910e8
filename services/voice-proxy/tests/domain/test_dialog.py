"""The triage-and-booking dialog, typed, against the real triage and scheduling services.

Both services run on loopback gRPC as in production (the real triage engine and knowledge base;
scheduling over a real PostgreSQL seeded with the demo clinic), and the dialog calls them with
the patient's own access token, as the voice-proxy does. What a patient would notice: a crushing
chest pain ends at once with "call emergency services" and no booking; a sore throat ends with a
real appointment that scheduling shows as booked; a refusal of consent stops the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_voice_proxy.adapters.services import GrpcScheduling, GrpcTriage
from voiceassist_voice_proxy.domain.dialog import (
    Dialog,
    DialogState,
    Output,
    Question,
    Say,
    ShowBooked,
    ShowOffer,
    ShowTriage,
    Stage,
    listening_for,
)

pytestmark = pytest.mark.integration


def stage_of(state: DialogState) -> Stage:
    """Read the stage afresh (a turn changes it behind the type checker's back)."""
    return state.stage


class Received:
    """Everything the dialog produced, for the test to read."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []

    def add(self, outputs: Sequence[Output]) -> Sequence[Output]:
        self.outputs.extend(outputs)
        return outputs

    def of(self, kind: type[Any]) -> list[Any]:
        return [o for o in self.outputs if isinstance(o, kind)]


@pytest.fixture
def dialog(services: tuple[Any, Any], token: Any, now: datetime) -> Dialog:
    triage, scheduling = services
    metadata = token()
    return Dialog(
        GrpcTriage(triage, metadata), GrpcScheduling(scheduling, metadata), clock=lambda: now
    )


async def test_a_crushing_chest_pain_ends_at_once_with_call_emergency_services(
    dialog: Dialog,
) -> None:
    state, got = DialogState(session_id="s-chest"), Received()
    greeting = got.add(dialog.begin(state))
    assert isinstance(greeting[0], Say)
    assert not greeting[0].interruptible  # consent is heard whole
    got.add(await dialog.hear(state, "Yes, that's fine"))
    assert state.stage == Stage.CHIEF_COMPLAINT

    got.add(
        await dialog.hear(
            state,
            "I have a crushing pain in my chest spreading to my left arm, I'm a 58 year old man",
        )
    )

    [result] = got.of(ShowTriage)
    assert result.outcome.level.is_emergency
    assert not result.bookable
    assert result.emergency_number
    assert result.outcome.disclaimer
    spoken = [o for o in got.outputs if isinstance(o, Say) and o.stage != Stage.CONSENT]
    assert any(not s.interruptible and "emergency" in s.text.lower() for s in spoken)
    assert not got.of(ShowOffer)
    assert stage_of(state) == Stage.DONE


async def test_a_sore_throat_ends_with_a_booked_appointment(
    dialog: Dialog, services: tuple[Any, Any], token: Any
) -> None:
    state, got = DialogState(session_id="s-throat"), Received()
    got.add(dialog.begin(state))
    got.add(await dialog.hear(state, "yeah"))
    got.add(await dialog.hear(state, "I've had a sore throat for three days"))
    answers = {"age": "34", "sex": "a woman"}
    for _ in range(40):
        if state.pending in answers:
            got.add(await dialog.hear(state, answers[state.pending]))
        elif state.pending == "question" and state.question is not None:
            # A patient with a mild sore throat: no to yes/no questions, a mild pain.
            question = state.question
            reply = {"binary": "no", "number": "about a three"}.get(question.kind)
            got.add(await dialog.hear(state, reply or question.choices[0][1]))
        else:
            break
    [result] = got.of(ShowTriage)
    assert not result.outcome.level.is_emergency
    assert result.outcome.disclaimer
    if state.pending == "want_booking":
        got.add(await dialog.hear(state, "yes please"))
    assert state.pending == "city"
    got.add(await dialog.hear(state, "London"))
    [offer] = got.of(ShowOffer)
    assert offer.offers.practitioners
    assert all("London" in p.practice for p in offer.offers.practitioners[:1])
    got.add(await dialog.hear(state, "the second one"))

    [booked] = got.of(ShowBooked)
    assert state.stage == Stage.DONE
    assert booked.booked.start == offer.offers.practitioners[0].slots[1].start
    _, scheduling = services
    read = await scheduling.GetAppointment(
        scheduling_pb2.GetAppointmentRequest(appointment_id=booked.booked.appointment_id),
        metadata=token(),
    )
    assert read.appointment.status == scheduling_pb2.APPOINTMENT_STATUS_BOOKED
    assert read.appointment.triage_assessment_id == result.outcome.assessment_id
    assert read.appointment.urgency == int(result.outcome.level)


async def test_a_sore_throat_with_fever_goes_on_with_questions(dialog: Dialog) -> None:
    # Sparse first answers can rank a dangerous condition high; only a fired red flag ends the
    # interview at once, the next questions settle the rest.
    state = DialogState(session_id="s-fever")
    dialog.begin(state)
    await dialog.hear(state, "yes")
    said = await dialog.hear(state, "I have a sore throat and a fever")
    assert state.stage == Stage.INTERVIEW
    assert state.pending in {"age", "sex", "question"}
    assert [o for o in said if isinstance(o, Say)]


async def test_a_refused_consent_stops_the_conversation(dialog: Dialog) -> None:
    state = DialogState(session_id="s-no", language="fr")
    dialog.begin(state)
    said = await dialog.hear(state, "non merci")
    assert state.stage == Stage.DONE
    assert isinstance(said[0], Say)
    assert "15" in said[0].text


async def test_a_conversation_resumes_from_its_saved_state(dialog: Dialog) -> None:
    state = DialogState(session_id="s-resume")
    dialog.begin(state)
    await dialog.hear(state, "yes")
    await dialog.hear(state, "I have had a sore throat for three days")
    saved = DialogState.from_dict(state.to_dict())
    assert saved == state
    # The reconnected conversation answers the pending question where it was.
    assert saved.pending in {"age", "sex", "question"}
    assert await dialog.hear(saved, "34" if saved.pending == "age" else "no")


def test_what_the_recogniser_listens_for_follows_the_question() -> None:
    state = DialogState(session_id="s")
    assert listening_for(state).expected == ("yes", "no")  # consent
    state.pending = "sex"
    assert listening_for(state).expected == ("A man", "A woman")
    state.pending = "question"
    state.question = Question("E_56", "How intense is the pain?", "number")
    assert listening_for(state).expected[-1] == "10"
    many = tuple((f"V_{n}", f"place {n}") for n in range(165))
    state.question = Question("E_55", "Where is the pain?", "choice", many, multiple=True)
    # Too many to hint: the words go to triage as said, never matched to one of the first 100.
    assert listening_for(state).expected == ()
    kinds = (("V_1", "sharp"), ("V_2", "burning"), ("V_3", "a knife stroke"))
    state.question = Question("E_54", "How is the pain?", "choice", kinds, multiple=True)
    listening = listening_for(state)
    assert listening.expected == ("sharp", "burning", "a knife stroke")
    assert listening.answer_replaces_words is False  # "sharp and burning" stays two answers
    state.question = Question("E_54", "How is the pain?", "choice", kinds)
    assert listening_for(state).answer_replaces_words is True
    state.pending = "city"
    assert listening_for(state).expected == ()
