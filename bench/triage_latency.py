"""Latency of one Diagnose turn, in process and over gRPC on loopback.

``bench/triage_latency.py [--patients FILE.csv] [--limit N] [--concurrency C] [--json]``

Replays the interviews of DDXPlus patients (as ``bench/triage_ddxplus.py`` simulates them) to
collect realistic interview states, then times a Diagnose turn for each state twice in this
process: calling the engine directly (the baseline) and through the real TriageService on a
loopback gRPC server (the service's handlers, its worker thread and protobuf translation
included; assessments in memory, no NATS). Prints median and p95 of both and their ratio; with
``--concurrency`` above 1, that many clients call at once. Target (issue #3): p95 under 50 ms on
the development machine (2 CPU cores).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import grpc
from voiceassist.triage.v1 import triage_pb2, triage_pb2_grpc
from voiceassist_common.events import TriageCompleted
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_triage.adapters.ddxplus import read_patients
from voiceassist_triage.adapters.repository import InMemoryAssessmentRepository
from voiceassist_triage.domain.case import Answer, Case, Sex
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.handlers.grpc import registrar

HERE = Path(__file__).resolve().parent


def _ddxplus_bench() -> ModuleType:
    """Load the sibling bench script, whose simulated patient this one reuses."""
    spec = importlib.util.spec_from_file_location("triage_ddxplus", HERE / "triage_ddxplus.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/triage_ddxplus.py is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DiscardedOutcomes:
    """Outcome publisher that drops events: this bench measures Diagnose only."""

    async def completed(self, event: TriageCompleted) -> None:
        """Drop ``event``."""


def diagnose_request(case: Case, asked: int) -> triage_pb2.DiagnoseRequest:
    """Build the wire form of one interview state."""
    patient = triage_pb2.Patient()
    if case.age_years is not None:
        patient.age_years = int(case.age_years)
    if case.sex is not None:
        patient.sex = triage_pb2.SEX_FEMALE if case.sex is Sex.FEMALE else triage_pb2.SEX_MALE
    request = triage_pb2.DiagnoseRequest(patient=patient, questions_asked=asked)
    for answer in case.answers:
        evidence = request.evidence.add(evidence_id=answer.evidence_id)
        if isinstance(answer.value, bool):
            evidence.present = answer.value
        elif isinstance(answer.value, str):
            evidence.value_id = answer.value
        elif isinstance(answer.value, float | int):
            evidence.number = float(answer.value)
    return request


def interview_states(
    engine: TriageEngine, patients_file: Path, limit: int
) -> list[tuple[Case, int]]:
    """Every (case, questions asked) an interview passes through, for the first patients."""
    bench = _ddxplus_bench()
    states: list[tuple[Case, int]] = []
    for patient in read_patients(patients_file)[:limit]:
        case = Case(patient.age_years, patient.sex, (Answer(patient.initial_evidence, True),))
        for asked in range(31):
            states.append((case, asked))
            turn = engine.diagnose(case, questions_asked=asked, max_questions=30)
            if turn.should_stop or turn.next_question is None:
                break
            evidence_id = turn.next_question.evidence_id
            case = case.with_answers(*bench.simulated_answers(engine.kb, patient, evidence_id))
    return states


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def over_grpc(
    engine: TriageEngine, states: Sequence[tuple[Case, int]], concurrency: int
) -> list[float]:
    """Time each state's Diagnose call through the real service on loopback."""
    # Callers are not verified here: this measures the engine's turn, not token checks.
    callers = Callers.unverified("test")
    register = registrar(engine, InMemoryAssessmentRepository(), DiscardedOutcomes(), callers)
    server = await start_grpc_server("127.0.0.1:0", register)
    timings: list[float] = []
    try:
        async with create_channel(f"127.0.0.1:{server.port}") as channel:
            stub = triage_pb2_grpc.TriageServiceStub(channel)
            requests = [diagnose_request(case, asked) for case, asked in states]
            await stub.Diagnose(requests[0])  # warm the connection
            queue: asyncio.Queue[triage_pb2.DiagnoseRequest] = asyncio.Queue()
            for item in requests:
                queue.put_nowait(item)

            async def client() -> None:
                while not queue.empty():
                    item = queue.get_nowait()
                    started = time.perf_counter()
                    await stub.Diagnose(item)
                    timings.append(time.perf_counter() - started)

            await asyncio.gather(*(client() for _ in range(concurrency)))
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"Diagnose failed: {error.code().name}: {error.details()}") from None
    finally:
        await server.stop(0)
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    """Collect states, time both paths, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--patients", type=Path, default=HERE / "data" / "ddxplus" / "dev_patients_1000.csv"
    )
    parser.add_argument("--limit", type=int, default=200, help="patients whose turns are replayed")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    engine = TriageEngine(load_knowledge(), max_questions=30)
    states = interview_states(engine, args.patients, args.limit)
    direct: list[float] = []
    for case, asked in states:
        started = time.perf_counter()
        engine.diagnose(case, questions_asked=asked, max_questions=30)
        direct.append(time.perf_counter() - started)
    remote = asyncio.run(over_grpc(engine, states, max(1, args.concurrency)))
    figures = {
        "turns": len(states),
        "concurrency": max(1, args.concurrency),
        "direct_ms_median": round(1000 * statistics.median(direct), 3),
        "direct_ms_p95": round(1000 * percentile(direct, 0.95), 3),
        "grpc_ms_median": round(1000 * statistics.median(remote), 3),
        "grpc_ms_p95": round(1000 * percentile(remote, 0.95), 3),
    }
    figures["ratio_p95_grpc_to_direct"] = round(
        figures["grpc_ms_p95"] / max(figures["direct_ms_p95"], 1e-9), 2
    )
    print(
        f"Diagnose turn over {figures['turns']} interview states "
        f"(concurrency {figures['concurrency']}):\n"
        f"  in process (baseline): median {figures['direct_ms_median']} ms, "
        f"p95 {figures['direct_ms_p95']} ms\n"
        f"  gRPC on loopback:      median {figures['grpc_ms_median']} ms, "
        f"p95 {figures['grpc_ms_p95']} ms  (p95 ratio {figures['ratio_p95_grpc_to_direct']})"
    )
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
