"""A patient reads only their own assessments; clinicians and admins read all (issue #4).

The service runs with real token verification: each call carries an access token signed by a
test issuer, exactly as the gateway forwards it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.grpc.principal import Callers, bearer_metadata
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_triage.adapters.repository import InMemoryAssessmentRepository
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.handlers.grpc import TriageServicer

ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
AUDIENCE = "voiceassist-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "triage-test", "alg": "RS256"})
ALICE, BOB = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
CHEST_PAIN = [
    triage_pb2.Evidence(evidence_id="E_53", present=True),
    triage_pb2.Evidence(evidence_id="E_55", value_id="V_101"),
    triage_pb2.Evidence(evidence_id="E_57", value_id="V_121"),
]
MAN_OF_58 = triage_pb2.Patient(age_years=58, sex=triage_pb2.SEX_MALE)


def as_user(subject: str, *roles: str, guest: bool = False) -> tuple[tuple[str, str], ...]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "aud": [AUDIENCE, "account"],
        "azp": "voiceassist-web",
        "typ": "Bearer",
        "exp": now + 300,
        "iat": now,
        "realm_access": {"roles": list(roles)},
    }
    if guest:
        claims["voiceassist_guest"] = True
    token = jwt.encode({"alg": "RS256", "kid": "triage-test"}, claims, KEY, algorithms=["RS256"])
    return bearer_metadata(token)


@pytest.fixture
async def callers() -> AsyncIterator[Callers]:
    jwks = {"keys": [KEY.as_dict(private=False)]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=jwks))
    async with httpx.AsyncClient(transport=transport) as http:
        cache = JwksCache(jwks_uri=f"{ISSUER}/protocol/openid-connect/certs", http_client=http)
        yield Callers(TokenVerifier(ISSUER, AUDIENCE, cache))


@pytest.fixture
async def stub(engine: TriageEngine, outcomes: Any, serve_triage: Any, callers: Callers) -> Any:
    servicer = TriageServicer(engine, InMemoryAssessmentRepository(), outcomes, callers=callers)
    return await serve_triage(servicer)


async def triage_as(stub: Any, metadata: Sequence[tuple[str, str]], subject: str = "") -> str:
    request = triage_pb2.TriageRequest(
        patient=MAN_OF_58, evidence=CHEST_PAIN, patient_subject=subject
    )
    reply = await stub.Triage(request, metadata=metadata)
    return str(reply.assessment_id)


async def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value.code()


async def test_a_patients_assessment_is_recorded_under_their_own_subject(stub: Any) -> None:
    assessment_id = await triage_as(stub, as_user(ALICE, "patient"))

    reply = await stub.GetAssessment(
        triage_pb2.GetAssessmentRequest(assessment_id=assessment_id),
        metadata=as_user(ALICE, "patient"),
    )

    assert reply.assessment.patient_subject == ALICE


async def test_a_patient_cannot_record_an_assessment_for_someone_else(stub: Any) -> None:
    code = await code_of(triage_as(stub, as_user(ALICE, "patient"), subject=BOB))

    assert code is grpc.StatusCode.PERMISSION_DENIED


async def test_another_patients_assessment_is_not_found_as_if_it_did_not_exist(
    stub: Any,
) -> None:
    bobs = await triage_as(stub, as_user(BOB, "patient"))

    code = await code_of(
        stub.GetAssessment(
            triage_pb2.GetAssessmentRequest(assessment_id=bobs), metadata=as_user(ALICE, "patient")
        )
    )

    assert code is grpc.StatusCode.NOT_FOUND


async def test_a_patients_list_holds_only_their_own_assessments(stub: Any) -> None:
    await triage_as(stub, as_user(ALICE, "patient"))
    await triage_as(stub, as_user(BOB, "patient"))
    await triage_as(stub, as_user(BOB, "patient"))

    alices = await stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(), metadata=as_user(ALICE, "patient")
    )
    asking_for_bob = stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(patient_subject=BOB), metadata=as_user(ALICE, "patient")
    )

    assert [item.patient_subject for item in alices.assessments] == [ALICE]
    assert await code_of(asking_for_bob) is grpc.StatusCode.PERMISSION_DENIED


async def test_a_guest_is_a_patient_limited_to_their_own_assessments(stub: Any) -> None:
    guest = "guest-33333333-3333-4333-8333-333333333333"
    await triage_as(stub, as_user(BOB, "patient"))
    mine = await triage_as(stub, as_user(guest, guest=True))

    listed = await stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(), metadata=as_user(guest, guest=True)
    )

    assert [item.assessment_id for item in listed.assessments] == [mine]


async def test_clinicians_and_admins_read_every_patients_assessments(stub: Any) -> None:
    bobs = await triage_as(stub, as_user(BOB, "patient"))
    await triage_as(stub, as_user(ALICE, "patient"))

    for role in ("clinician", "admin"):
        staff = as_user("33333333-0000-4000-8000-000000000000", role)
        read = await stub.GetAssessment(
            triage_pb2.GetAssessmentRequest(assessment_id=bobs), metadata=staff
        )
        listed = await stub.ListAssessments(triage_pb2.ListAssessmentsRequest(), metadata=staff)
        assert read.assessment.patient_subject == BOB
        assert {item.patient_subject for item in listed.assessments} == {ALICE, BOB}


async def test_a_clinician_records_a_triage_for_the_patient_they_name(stub: Any) -> None:
    clinician = as_user("44444444-0000-4000-8000-000000000000", "clinician")

    assessment_id = await triage_as(stub, clinician, subject=BOB)

    read = await stub.GetAssessment(
        triage_pb2.GetAssessmentRequest(assessment_id=assessment_id),
        metadata=as_user(BOB, "patient"),
    )
    assert read.assessment.patient_subject == BOB


async def test_calls_without_a_valid_token_are_unauthenticated(stub: Any) -> None:
    listing = triage_pb2.ListAssessmentsRequest()
    forged = (("authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),)

    assert await code_of(stub.ListAssessments(listing)) is grpc.StatusCode.UNAUTHENTICATED
    assert (
        await code_of(stub.ListAssessments(listing, metadata=forged))
        is grpc.StatusCode.UNAUTHENTICATED
    )
