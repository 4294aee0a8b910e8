"""A patient reads their own assessments, a clinician their practice's patients', an admin all.

The service runs with real token verification: each call carries an access token signed by a
test issuer, exactly as the gateway forwards it. For clinicians, triage asks the real
SchedulingService (on a loopback port, over a real PostgreSQL seeded with the demo clinic)
which patients have an appointment at the clinician's practice, forwarding the clinician's own
token; Dr Claire Martin (Paris) is recognised by her verified work e-mail.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist.common.v1 import clinical_pb2, language_pb2, paging_pb2
from voiceassist.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import Callers, bearer_metadata
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_localstack.ports import free_port
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters import migrations as scheduling_migrations
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.handlers.grpc import registrar as scheduling_registrar
from voiceassist_scheduling.seed import seed_demo_clinic
from voiceassist_triage.adapters import migrations as triage_migrations
from voiceassist_triage.adapters.practices import SchedulingPracticeAccess
from voiceassist_triage.adapters.repository import (
    AssessmentRepository,
    InMemoryAssessmentRepository,
    PostgresAssessmentRepository,
)
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.handlers.grpc import TriageServicer

ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
AUDIENCE = "voiceassist-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "triage-test", "alg": "RS256"})
ALICE, BOB = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
CAROL = "55555555-5555-4555-8555-555555555555"
DR_MARTIN_SUBJECT = "66666666-6666-4666-8666-666666666666"
DR_MARTIN_EMAIL = "clinician@demo.voiceassist.local"  # Dr Claire Martin, Paris (demo clinic)
# Monday 7 December 2026, 08:00 in Paris: the demo clinic opens at 08:30.
SCHEDULING_NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
CHEST_PAIN = [
    triage_pb2.Evidence(evidence_id="E_53", present=True),
    triage_pb2.Evidence(evidence_id="E_55", value_id="V_101"),
    triage_pb2.Evidence(evidence_id="E_57", value_id="V_121"),
]
MAN_OF_58 = triage_pb2.Patient(age_years=58, sex=triage_pb2.SEX_MALE)


def as_user(
    subject: str, *roles: str, guest: bool = False, email: str | None = None
) -> tuple[tuple[str, str], ...]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": subject,
        "aud": [AUDIENCE, "account"],
        "azp": "voiceassist-web",
        "typ": "Bearer",
        # Module constants mint these at collection, up to a whole `make test` (~20 min) before
        # use: they must outlive the session, or a slow run fails on "expired".
        "exp": now + 3600,
        "iat": now,
        "realm_access": {"roles": list(roles)},
    }
    if guest:
        claims["voiceassist_guest"] = True
    if email is not None:
        claims.update(email=email, email_verified=True)
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


async def test_admins_read_every_patients_assessments(stub: Any) -> None:
    bobs = await triage_as(stub, as_user(BOB, "patient"))
    await triage_as(stub, as_user(ALICE, "patient"))
    admin = as_user("33333333-0000-4000-8000-000000000000", "admin")

    read = await stub.GetAssessment(
        triage_pb2.GetAssessmentRequest(assessment_id=bobs), metadata=admin
    )
    listed = await stub.ListAssessments(triage_pb2.ListAssessmentsRequest(), metadata=admin)

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


# --- clinicians: the patients of their practice (issue #5) ------------------------------------

DR_MARTIN = as_user(DR_MARTIN_SUBJECT, "clinician", email=DR_MARTIN_EMAIL)
SCHEDULING_ADMIN = as_user("77777777-7777-4777-8777-777777777777", "admin")


@pytest.fixture(scope="module")
def scheduling_database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server,
        schema=scheduling_migrations.SCHEMA,
        script_location=scheduling_migrations.SCRIPT_LOCATION,
    ) as database:
        yield database


@pytest.fixture(scope="module")
def triage_database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server,
        schema=triage_migrations.SCHEMA,
        script_location=triage_migrations.SCRIPT_LOCATION,
    ) as database:
        yield database


@pytest.fixture
async def scheduling(
    scheduling_database: MigratedDatabase, callers: Callers
) -> AsyncIterator[tuple[Any, str]]:
    """Serve the real SchedulingService over the demo clinic; return its stub and address."""
    reset = "TRUNCATE appointments, idempotency_keys, outbox CASCADE"
    async with scheduling_database.pool("scheduling-test", reset=reset, max_size=4) as pool:
        repository = PostgresSchedulingRepository(pool)
        await seed_demo_clinic(repository)
        register = scheduling_registrar(repository, callers, clock=lambda: SCHEDULING_NOW)
        server = await start_grpc_server("127.0.0.1:0", register)
        try:
            async with create_channel(f"127.0.0.1:{server.port}") as channel:
                yield scheduling_pb2_grpc.SchedulingServiceStub(channel), f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture(params=["memory", "postgres"])
async def assessments(
    request: pytest.FixtureRequest,
) -> AsyncIterator[AssessmentRepository]:
    """Both assessment stores: the narrowing must hold in memory and in PostgreSQL."""
    if request.param == "memory":
        yield InMemoryAssessmentRepository()
        return
    database: MigratedDatabase = request.getfixturevalue("triage_database")
    async with database.pool("triage-test", reset="TRUNCATE assessments") as pool:
        yield PostgresAssessmentRepository(pool)


@pytest.fixture
async def practice_stub(
    engine: TriageEngine,
    outcomes: Any,
    serve_triage: Any,
    callers: Callers,
    scheduling: tuple[Any, str],
    assessments: AssessmentRepository,
) -> AsyncIterator[Any]:
    """Serve triage asking the real scheduling service which patients a clinician sees."""
    practices = SchedulingPracticeAccess(scheduling[1])
    servicer = TriageServicer(engine, assessments, outcomes, callers=callers, practices=practices)
    try:
        yield await serve_triage(servicer)
    finally:
        await practices.close()


async def book_with(scheduling_stub: Any, patient: str, city: str, key: str) -> None:
    """Book the earliest matching slot in ``city`` for ``patient``, as an admin would."""
    specialty = (
        clinical_pb2.SPECIALTY_GENERAL_PRACTICE
        if city == "Paris"
        else clinical_pb2.SPECIALTY_GASTROENTEROLOGY
    )
    matched = await scheduling_stub.Match(
        scheduling_pb2.MatchRequest(
            specialty=specialty,
            urgency=clinical_pb2.URGENCY_LEVEL_CONSULTATION,
            language=language_pb2.LANGUAGE_FRENCH
            if city == "Paris"
            else language_pb2.LANGUAGE_UNSPECIFIED,
            city=city,
        ),
        metadata=SCHEDULING_ADMIN,
    )
    assert matched.matches[0].practice.city == city
    await scheduling_stub.Book(
        scheduling_pb2.BookRequest(
            idempotency_key=key,
            slot_id=matched.matches[0].earliest_slots[0].slot_id,
            patient_subject=patient,
        ),
        metadata=SCHEDULING_ADMIN,
    )


@pytest.fixture
async def paris_and_lyon(scheduling: tuple[Any, str]) -> None:
    """Alice has an appointment in Paris (Dr Martin's practice), Bob in Lyon, Carol none."""
    await book_with(scheduling[0], ALICE, "Paris", "alice-paris")
    await book_with(scheduling[0], BOB, "Lyon", "bob-lyon")


async def read_as(stub: Any, assessment_id: str, metadata: Sequence[tuple[str, str]]) -> Any:
    return await stub.GetAssessment(
        triage_pb2.GetAssessmentRequest(assessment_id=assessment_id), metadata=metadata
    )


@pytest.mark.integration
@pytest.mark.usefixtures("paris_and_lyon")
async def test_a_clinician_reads_the_assessment_of_a_patient_of_their_practice(
    practice_stub: Any,
) -> None:
    alices = await triage_as(practice_stub, as_user(ALICE, "patient"))

    read = await read_as(practice_stub, alices, DR_MARTIN)

    assert read.assessment.patient_subject == ALICE


@pytest.mark.integration
@pytest.mark.usefixtures("paris_and_lyon")
async def test_a_patient_of_another_practice_or_of_none_is_not_found_to_a_clinician(
    practice_stub: Any,
) -> None:
    bobs = await triage_as(practice_stub, as_user(BOB, "patient"))
    carols = await triage_as(practice_stub, as_user(CAROL, "patient"))

    for other in (bobs, carols):
        assert await code_of(read_as(practice_stub, other, DR_MARTIN)) is grpc.StatusCode.NOT_FOUND
    # The admin reads them: they exist.
    assert (await read_as(practice_stub, bobs, SCHEDULING_ADMIN)).assessment.patient_subject == BOB


@pytest.mark.integration
@pytest.mark.usefixtures("paris_and_lyon")
async def test_a_clinicians_list_holds_their_practices_patients_and_their_own(
    practice_stub: Any,
) -> None:
    for patient in (ALICE, BOB, CAROL, ALICE):
        await triage_as(practice_stub, as_user(patient, "patient"))
    await triage_as(practice_stub, DR_MARTIN, subject=DR_MARTIN_SUBJECT)

    listed = await practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(), metadata=DR_MARTIN
    )
    first = await practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(page=paging_pb2.Pagination(page_size=2)),
        metadata=DR_MARTIN,
    )
    rest = await practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(
            page=paging_pb2.Pagination(page_size=2, page_token=first.page_info.next_page_token)
        ),
        metadata=DR_MARTIN,
    )
    alices = await practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(patient_subject=ALICE), metadata=DR_MARTIN
    )
    naming_bob = practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(patient_subject=BOB), metadata=DR_MARTIN
    )

    subjects = [item.patient_subject for item in listed.assessments]
    assert subjects == [DR_MARTIN_SUBJECT, ALICE, ALICE]
    assert listed.page_info.total_size == 3
    paged = [item.patient_subject for item in (*first.assessments, *rest.assessments)]
    assert paged == subjects
    assert [item.patient_subject for item in alices.assessments] == [ALICE, ALICE]
    assert await code_of(naming_bob) is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.integration
async def test_a_clinician_without_a_practice_reads_only_their_own(
    practice_stub: Any, scheduling: tuple[Any, str]
) -> None:
    await book_with(scheduling[0], ALICE, "Paris", "alice-paris")
    alices = await triage_as(practice_stub, as_user(ALICE, "patient"))
    unlinked = "88888888-8888-4888-8888-888888888888"
    # A clinician account linked to no practitioner record (no verified work e-mail).
    stranger = as_user(unlinked, "clinician")
    own = await triage_as(practice_stub, stranger, subject=unlinked)

    listed = await practice_stub.ListAssessments(
        triage_pb2.ListAssessmentsRequest(), metadata=stranger
    )

    assert [item.assessment_id for item in listed.assessments] == [own]
    assert await code_of(read_as(practice_stub, alices, stranger)) is grpc.StatusCode.NOT_FOUND


async def test_when_scheduling_is_down_a_clinician_is_unavailable_never_allowed(
    engine: TriageEngine, outcomes: Any, serve_triage: Any, callers: Callers
) -> None:
    practices = SchedulingPracticeAccess(f"127.0.0.1:{free_port()}")
    servicer = TriageServicer(
        engine, InMemoryAssessmentRepository(), outcomes, callers=callers, practices=practices
    )
    try:
        stub = await serve_triage(servicer)
        alices = await triage_as(stub, as_user(ALICE, "patient"))
        own = await triage_as(stub, DR_MARTIN, subject=DR_MARTIN_SUBJECT)

        reading = read_as(stub, alices, DR_MARTIN)
        listing = stub.ListAssessments(triage_pb2.ListAssessmentsRequest(), metadata=DR_MARTIN)
        naming = stub.ListAssessments(
            triage_pb2.ListAssessmentsRequest(patient_subject=ALICE), metadata=DR_MARTIN
        )

        assert await code_of(reading) is grpc.StatusCode.UNAVAILABLE
        assert await code_of(listing) is grpc.StatusCode.UNAVAILABLE
        assert await code_of(naming) is grpc.StatusCode.UNAVAILABLE
        # What needs no practice still answers: the clinician's own, and the admin's reads.
        assert (await read_as(stub, own, DR_MARTIN)).assessment.patient_subject == (
            DR_MARTIN_SUBJECT
        )
        admin = await read_as(stub, alices, SCHEDULING_ADMIN)
        assert admin.assessment.patient_subject == ALICE
    finally:
        await practices.close()


async def test_without_a_practice_directory_a_clinician_is_unavailable_never_allowed(
    stub: Any,
) -> None:
    alices = await triage_as(stub, as_user(ALICE, "patient"))

    assert await code_of(read_as(stub, alices, DR_MARTIN)) is grpc.StatusCode.UNAVAILABLE
