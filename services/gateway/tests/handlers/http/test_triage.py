"""Triage through the gateway: JSON in, the triage service's answer out, refusals as problems.

Behind the gateway runs the real TriageService (real engine and knowledge base) on a loopback
gRPC port, with assessments kept in memory; the gateway reaches it over gRPC as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from voiceassist_common.events import TriageCompleted
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import free_port
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_gateway.handlers.http.app import close_app, create_app
from voiceassist_triage.adapters.repository import InMemoryAssessmentRepository
from voiceassist_triage.domain.case import Language
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import DISCLAIMER, load_knowledge
from voiceassist_triage.handlers.grpc import registrar

TRIAGE = "/api/v1/triage"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
PROBLEM = "application/problem+json"

CARDIAC_CHEST_PAIN: list[dict[str, Any]] = [
    {"id": "E_53", "present": True},
    {"id": "E_55", "value_id": "V_101"},
    {"id": "E_57", "value_id": "V_121"},
]
MAN_OF_58 = {"age_years": 58, "sex": "male"}


class RecordedOutcomes:
    def __init__(self) -> None:
        self.events: list[TriageCompleted] = []

    async def completed(self, event: TriageCompleted) -> None:
        self.events.append(event)


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge())


@pytest.fixture
async def triage_address(engine: TriageEngine, idp: Any) -> AsyncIterator[str]:
    """Serve triage, verifying the tokens the gateway forwards against the same issuer."""
    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        callers = Callers(TokenVerifier(ISSUER, "voiceassist-api", jwks))
        register = registrar(engine, InMemoryAssessmentRepository(), RecordedOutcomes(), callers)
        server = await start_grpc_server("127.0.0.1:0", register)
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture
def settings(triage_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(triage_grpc_addr=triage_address, **identity_settings)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_cardiac_chest_pain_is_an_ambulance_and_reads_back_as_recorded(
    client: httpx.AsyncClient, engine: TriageEngine
) -> None:
    response = await client.post(
        f"{TRIAGE}/triage",
        json={"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN, "questions_asked": 2},
    )

    assert response.status_code == 200, response.text
    triaged = response.json()
    outcome = triaged["outcome"]
    assert outcome["level"] == "emergency_ambulance"
    assert "cardiac_chest_pain" in [flag["id"] for flag in outcome["red_flags"]]
    assert outcome["recommended_specialty"] is None
    assert outcome["instruction"]
    assert triaged["knowledge_version"] == engine.kb.version
    assert triaged["disclaimer"] == DISCLAIMER[Language.EN]

    read = await client.get(f"{TRIAGE}/assessments/{triaged['assessment_id']}")

    assert read.status_code == 200, read.text
    assessment = read.json()["assessment"]
    assert assessment["outcome"] == outcome
    assert assessment["patient"] == {"age_years": 58, "age_months": None, "sex": "male"}
    assert [
        {k: v for k, v in item.items() if v is not None} for item in assessment["evidence"]
    ] == CARDIAC_CHEST_PAIN
    assert [f["answer"] for f in assessment["findings"]] == ["Yes", "upper chest", "jaw"]
    assert assessment["questions_asked"] == 2
    assert assessment["create_time"].endswith("Z")


async def test_a_french_interview_is_asked_in_french(
    client: httpx.AsyncClient, engine: TriageEngine
) -> None:
    response = await client.post(
        f"{TRIAGE}/diagnose",
        json={
            "patient": MAN_OF_58,
            "evidence": [{"id": "E_53", "present": True}, {"id": "E_55", "value_id": "V_101"}],
            "language": "fr",
        },
    )

    assert response.status_code == 200, response.text
    turn = response.json()
    question = turn["next_question"]
    assert question["language"] == "fr"
    assert question["text"] == engine.kb.evidences[question["evidence_id"]].question[Language.FR]
    assert question["answer_type"] in {"yes_no", "single_choice", "multiple_choice", "scale"}
    assert turn["should_stop"] is False
    assert turn["stop_reason"] is None
    assert turn["disclaimer"] == DISCLAIMER[Language.FR]


async def test_an_emergency_is_announced_on_the_turn_it_fires(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{TRIAGE}/diagnose", json={"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN}
    )

    turn = response.json()
    assert turn["provisional_level"] == "emergency_ambulance"
    if turn["should_stop"]:
        assert (turn["stop_reason"], turn["next_question"]) == ("emergency", None)
    else:
        assert turn["next_question"]["evidence_id"]


async def test_parse_hears_the_negation(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{TRIAGE}/parse",
        json={"text": "I've had a crushing pain in my chest for two hours, no fever"},
    )

    assert response.status_code == 200, response.text
    parsed = response.json()
    assert parsed["language"] == "en"
    fever = [item for item in parsed["evidence"] if item["evidence"]["id"] == "E_91"]
    assert fever
    assert fever[0]["negated"] is True
    assert fever[0]["evidence"]["present"] is False
    assert [d["hours"] for d in parsed["durations"]] == [2]


async def test_explain_lists_the_evidence_for_the_top_condition(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{TRIAGE}/explain", json={"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN}
    )

    assert response.status_code == 200, response.text
    first = response.json()["explanations"][0]
    assert first["condition"]["probability"] > 0
    assert first["supporting"]
    assert all(item["weight"] > 0 for item in first["supporting"])


async def test_an_unknown_evidence_id_is_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{TRIAGE}/diagnose",
        json={"evidence": [{"id": "E_53", "present": True}, {"id": "E_99999", "present": True}]},
    )

    body = problem(response, 422)
    assert body["type"] == "urn:voiceassist:problem:validation-failed"
    (error,) = body["errors"]
    assert error["location"] == ["body", "evidence", 1, "id"]
    assert error["kind"] == "triage.unknown_evidence"


async def test_a_refused_value_is_never_repeated_back(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{TRIAGE}/triage",
        json={
            "evidence": [
                {"id": "E_53", "present": True},
                {"id": "E_55", "value_id": "my chest, says Jane Doe 555-0142"},
            ]
        },
    )

    body = problem(response, 422)
    assert body["errors"][0]["location"][:3] == ["body", "evidence", 1]
    assert "Jane" not in response.text
    assert "555" not in response.text


async def test_an_evidence_with_two_answers_is_refused_by_the_gateway(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        f"{TRIAGE}/diagnose", json={"evidence": [{"id": "E_91", "present": True, "number": 39}]}
    )

    body = problem(response, 422)
    assert body["errors"][0]["location"] == ["body", "evidence", 0]


async def test_an_unknown_assessment_is_a_404(client: httpx.AsyncClient) -> None:
    body = problem(await client.get(f"{TRIAGE}/assessments/{uuid4()}"), 404)

    assert body["detail"] == "No assessment has this id."


async def test_assessments_are_listed_newest_first_by_level_and_page(
    client: httpx.AsyncClient,
) -> None:
    ids = []
    for _ in range(3):
        response = await client.post(
            f"{TRIAGE}/triage", json={"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN}
        )
        ids.append(response.json()["assessment_id"])

    first = await client.get(
        f"{TRIAGE}/assessments", params={"level": "emergency_ambulance", "page_size": 2}
    )
    page = first.json()
    rest = await client.get(
        f"{TRIAGE}/assessments",
        params={
            "level": "emergency_ambulance",
            "page_size": 2,
            "page_token": page["next_page_token"],
        },
    )

    assert first.status_code == 200, first.text
    listed = [a["assessment_id"] for a in page["assessments"] + rest.json()["assessments"]]
    assert listed == list(reversed(ids))
    assert page["total_size"] == 3
    assert rest.json()["next_page_token"] is None
    none_here = await client.get(f"{TRIAGE}/assessments", params={"level": "self_care"})
    assert none_here.json()["assessments"] == []


async def test_a_page_token_of_other_filters_is_a_422_on_the_query(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(2):
        await client.post(
            f"{TRIAGE}/triage", json={"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN}
        )
    token = (await client.get(f"{TRIAGE}/assessments", params={"page_size": 1})).json()[
        "next_page_token"
    ]

    response = await client.get(
        f"{TRIAGE}/assessments", params={"page_token": token, "level": "emergency"}
    )

    assert problem(response, 422)["errors"][0]["location"] == ["query", "page_token"]


async def test_without_the_triage_service_the_answer_is_a_503(
    identity_settings: dict[str, Any], gatekeeper: Any, staff_token: str
) -> None:
    settings = Settings(triage_grpc_addr=f"127.0.0.1:{free_port()}", **identity_settings)
    app = create_app(settings, gatekeeper=gatekeeper)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            response = await client.post(
                f"{TRIAGE}/triage",
                json={"evidence": CARDIAC_CHEST_PAIN},
                headers={"Authorization": f"Bearer {staff_token}"},
            )
    finally:
        await close_app(app)

    body = problem(response, 503)
    assert "try again" in body["detail"]
    assert response.headers["retry-after"] == "5"


async def test_the_routes_are_documented_with_their_bodies(app: FastAPI) -> None:
    paths = app.openapi()["paths"]

    triage = paths[f"{TRIAGE}/triage"]["post"]
    assert "x-voiceassist-pending" not in triage
    assert triage["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TriageRequest"
    )
    assert triage["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "TriageResponse"
    )
    assert "503" in triage["responses"]
    assert "404" in paths[f"{TRIAGE}/assessments/{{assessment_id}}"]["get"]["responses"]
    for route in ("parse", "diagnose", "explain"):
        assert f"{TRIAGE}/{route}" in paths


async def test_a_patient_reads_their_own_assessment_and_not_anothers(
    anonymous: httpx.AsyncClient, idp: Any, audit_records: Any
) -> None:
    alice = {"Authorization": f"Bearer {idp.access_token('alice-1', ['patient'])}"}
    bob = {"Authorization": f"Bearer {idp.access_token('bob-2', ['patient'])}"}
    body = {"patient": MAN_OF_58, "evidence": CARDIAC_CHEST_PAIN}
    alices = (await anonymous.post(f"{TRIAGE}/triage", json=body, headers=alice)).json()

    own = await anonymous.get(f"{TRIAGE}/assessments/{alices['assessment_id']}", headers=alice)
    other = await anonymous.get(f"{TRIAGE}/assessments/{alices['assessment_id']}", headers=bob)
    bobs_list = await anonymous.get(f"{TRIAGE}/assessments", headers=bob)

    assert own.status_code == 200
    assert own.json()["assessment"]["patient_subject"] == "alice-1"
    # Exactly the answer for an id that does not exist: nothing to learn by probing.
    assert problem(other, 404)["detail"] == "No assessment has this id."
    assert bobs_list.json()["assessments"] == []
    actions = audit_records.actions()
    assert ("triage.assessment.create", "succeeded") in actions
    assert ("triage.assessment.read", "succeeded") in actions
    assert ("triage.assessment.read", "failed") in actions
    created = next(r for r in audit_records.records if r.action == "triage.assessment.create")
    assert created.patient_subject == "alice-1"
