"""Interactive DDXPlus benchmark of the triage engine.

``bench/triage_ddxplus.py --patients FILE.csv [--max-questions N] [--folds K] [--json]``

For each patient of an official DDXPlus CSV file, runs the interview (``TriageEngine.diagnose``)
against a simulated patient who answers from their own evidence (an evidence they do not have is
answered no, or the question's default value; VoiceAssist's extra red-flag questions are
answered no / unknown), starting from INITIAL_EVIDENCE plus age and sex, and stops when the
engine says so. Prints:

- GTPA@1: the true pathology ranked first; top-5: within the first five;
- mean and median number of questions asked (the initial evidence is not a question);
- DDF1: F1 between the engine's differential (conditions with probability >= 0.01) and
  DIFFERENTIAL_DIAGNOSIS (entries with mass > 0.01, as in the DDXPlus manuscript);
- urgency: how often the final Triage level equals the urgency VoiceAssist gives the true
  pathology (conditions.yaml), is more urgent (over-triage) or less urgent (under-triage);
- Diagnose turn latency, median and p95, measured in this process.

``--folds K`` (default 1) refits the statistics on the other folds of the same file for each
fold, so the figures are for patients the model has not seen; with 1, the shipped statistics are
used (fitted on the 1,000 development patients, so in-sample for that file).
With ``--json`` the last line is one JSON object with keys ``gtpa1``, ``top5``,
``mean_questions``, ``median_questions``, ``ddf1``, ``n`` (and a few more).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from voiceassist_triage.adapters.ddxplus import DdxPatient, parse_evidence, read_patients
from voiceassist_triage.domain.case import Answer, Case
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import (
    EvidenceKind,
    KnowledgeBase,
    load_knowledge,
    with_documents,
)
from voiceassist_triage.domain.statistics import count_statistics

DEFAULT_PATIENTS = Path(__file__).resolve().parent / "data" / "ddxplus" / "dev_patients_1000.csv"
DIFFERENTIAL_FLOOR = 0.01


def simulated_answers(kb: KnowledgeBase, patient: DdxPatient, evidence_id: str) -> list[Answer]:
    """Answer the question on ``evidence_id`` as the simulated patient would."""
    evidence = kb.evidences[evidence_id]
    given = [a.value for a in patient.answers if a.evidence_id == evidence_id]
    if evidence.kind is EvidenceKind.BINARY:
        return [Answer(evidence_id, bool(given))]
    if evidence.kind is EvidenceKind.NUMBER:
        return [Answer(evidence_id, None)]
    if evidence.kind is EvidenceKind.MULTI:
        return [Answer(evidence_id, v) for v in given] or [
            Answer(evidence_id, evidence.default_value)
        ]
    return [Answer(evidence_id, given[0] if given else evidence.default_value)]


def interview(
    engine: TriageEngine, patient: DdxPatient, max_questions: int, timings: list[float]
) -> tuple[Case, int]:
    """Run one interview to its end; returns the final case and the questions asked."""
    case = Case(
        age_years=patient.age_years,
        sex=patient.sex,
        answers=(parse_evidence(patient.initial_evidence),),
    )
    asked = 0
    while True:
        started = time.perf_counter()
        turn = engine.diagnose(case, questions_asked=asked, max_questions=max_questions)
        timings.append(time.perf_counter() - started)
        if turn.should_stop or turn.next_question is None:
            return case, asked
        case = case.with_answers(
            *simulated_answers(engine.kb, patient, turn.next_question.evidence_id)
        )
        asked += 1


def differential_f1(predicted: set[str], truth: set[str]) -> float:
    """F1 of two sets of condition names (1.0 when both are empty)."""
    if not predicted and not truth:
        return 1.0
    overlap = len(predicted & truth)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(truth)
    return 2 * precision * recall / (precision + recall)


def evaluate(
    patients: Sequence[DdxPatient], folds: int, max_questions: int
) -> dict[str, float | int | str]:
    """Run every patient and compute the figures."""
    base = load_knowledge()
    top1 = top5 = 0
    questions: list[int] = []
    ddf1: list[float] = []
    timings: list[float] = []
    exact = over = under = 0
    unknown: set[str] = set()
    for fold in range(folds):
        if folds == 1:
            kb, tested = base, list(patients)
        else:
            tested = [p for i, p in enumerate(patients) if i % folds == fold]
            train = [p for i, p in enumerate(patients) if i % folds != fold]
            counts = count_statistics((p.pathology, p.age_years, p.sex, p.answers) for p in train)
            kb = with_documents(base, ddxplus_statistics={"conditions": counts})
        engine = TriageEngine(kb, max_questions=max_questions)
        for patient in tested:
            case, asked = interview(engine, patient, max_questions, timings)
            ranking = engine.rank(case, None)
            names = [r.condition.ddxplus_name for r in ranking]
            top1 += names[0] == patient.pathology
            top5 += patient.pathology in names[:5]
            questions.append(asked)
            predicted = {
                r.condition.ddxplus_name for r in ranking if r.probability >= DIFFERENTIAL_FLOOR
            }
            truth = {name for name, mass in patient.differential if mass > DIFFERENTIAL_FLOOR}
            ddf1.append(differential_f1(predicted, truth))
            level = engine.triage(case).level
            known = {c.ddxplus_name: c for c in kb.conditions.values()}
            if patient.pathology not in known:
                unknown.add(patient.pathology)  # counted as a miss, never silently dropped
                continue
            expected = known[patient.pathology].urgency
            exact += level == expected
            over += level < expected  # a smaller level is more urgent
            under += level > expected
    n = len(questions)
    if unknown:
        print(
            "warning: pathologies not in the knowledge base (counted as misses):",
            sorted(unknown),
            file=sys.stderr,
        )
    timings.sort()
    return {
        "n": n,
        "gtpa1": round(top1 / n, 4),
        "top5": round(top5 / n, 4),
        "mean_questions": round(statistics.mean(questions), 2),
        "median_questions": statistics.median(questions),
        "ddf1": round(statistics.mean(ddf1), 4),
        "urgency_exact": round(exact / n, 4),
        "over_triage": round(over / n, 4),
        "under_triage": round(under / n, 4),
        "folds": folds,
        "max_questions": max_questions,
        "turn_ms_median": round(1000 * statistics.median(timings), 2),
        "turn_ms_p95": round(1000 * timings[int(0.95 * (len(timings) - 1))], 2),
        "knowledge_version": base.version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=Path, default=DEFAULT_PATIENTS)
    parser.add_argument("--max-questions", type=int, default=30)
    parser.add_argument("--folds", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="only the first N patients")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    patients = read_patients(args.patients)[: args.limit]
    if not patients:
        print("no patients in the file", file=sys.stderr)
        return 2
    figures = evaluate(patients, max(1, args.folds), args.max_questions)
    print(
        f"DDXPlus interactive benchmark: {figures['n']} patients, {figures['folds']} fold(s), "
        f"at most {figures['max_questions']} questions\n"
        f"  GTPA@1 {100 * float(figures['gtpa1']):.1f}%   top-5 {100 * float(figures['top5']):.1f}%"
        f"   DDF1 {100 * float(figures['ddf1']):.1f}%\n"
        f"  questions: mean {figures['mean_questions']}, median {figures['median_questions']}\n"
        f"  urgency vs the true condition's: exact {100 * float(figures['urgency_exact']):.1f}%, "
        f"over-triage {100 * float(figures['over_triage']):.1f}%, "
        f"under-triage {100 * float(figures['under_triage']):.1f}%\n"
        f"  Diagnose turn: median {figures['turn_ms_median']} ms, p95 {figures['turn_ms_p95']} ms\n"
        f"  knowledge {figures['knowledge_version']}\n"
        "  (published, same test split: AARLC GTPA@1 75.4% with 25.8 questions, "
        "BASD 67.7% with 17.9)"
    )
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
