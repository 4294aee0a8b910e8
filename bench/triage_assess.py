"""One-shot triage of a free-text case description, asking nothing.

``bench/triage_assess.py --text TEXT [--age N] [--sex M|F] [--language en|fr] [--json]``

Parses the text (``TriageEngine.parse``: evidence, and age and sex when the text says them,
"A 64-year-old man ..."), then decides the urgency and ranks the conditions with only the
evidence found (``TriageEngine.triage``): what the engine would say if the caller hung up after
one sentence. ``--age`` and ``--sex`` override what the text says. Without ``--text`` a built-in
demo case is assessed, so ``make bench`` (which runs every script with no arguments) shows it.

Plain output is a readable summary; with ``--json`` the last line is one JSON object:
``level``, ``red_flags`` (ids), ``conditions`` (top five: name, icd10, probability),
``specialty`` (null for the emergency levels), ``knowledge_version``, ``disclaimer`` and
``evidence`` (the ids found affirmed), plus ``age_years``, ``sex`` and ``language`` as used.
Runs in process from a fresh environment: no service, database or network.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from voiceassist_triage.domain.case import Answer, Case, Language, Sex
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import DISCLAIMER, load_knowledge
from voiceassist_triage.domain.results import ParseResult, TriageDecision

DEMO_TEXT = (
    "A 64-year-old man with crushing chest pain spreading to the left arm for an hour, "
    "sweating, no fever."
)
TOP_CONDITIONS = 5


def case_from(parsed: ParseResult, age: float | None, sex: Sex | None) -> Case:
    """Build the case the text describes: every answer found, denials included ("no fever")."""
    answers = tuple(Answer(e.answer.evidence_id, e.answer.value) for e in parsed.evidence)
    return Case(
        age_years=age if age is not None else parsed.age_years,
        sex=sex if sex is not None else parsed.sex,
        answers=answers,
    )


def assess(
    text: str, age: float | None = None, sex: Sex | None = None, language: Language | None = None
) -> dict[str, Any]:
    """Parse ``text`` and triage it; the result as the JSON object described above."""
    engine = TriageEngine(load_knowledge())
    parsed = engine.parse(text, language)
    case = case_from(parsed, age, sex)
    decision = engine.triage(case, parsed.language)
    return report(engine, parsed, case, decision)


def report(
    engine: TriageEngine, parsed: ParseResult, case: Case, decision: TriageDecision
) -> dict[str, Any]:
    """Return the decision as one JSON-ready object."""
    language = parsed.language
    return {
        "level": decision.level.name.lower(),
        "red_flags": [flag.id for flag in decision.red_flags],
        "conditions": [
            {
                "name": ranked.condition.name[language],
                "icd10": ranked.condition.icd10,
                "probability": round(ranked.probability, 4),
            }
            for ranked in decision.conditions[:TOP_CONDITIONS]
        ],
        "specialty": decision.specialty,
        "knowledge_version": engine.kb.version,
        "disclaimer": DISCLAIMER[language],
        "evidence": list(
            dict.fromkeys(
                e.answer.evidence_id
                for e in parsed.evidence
                if not e.negated and e.answer.value is not None
            )
        ),
        "denied": list(dict.fromkeys(e.answer.evidence_id for e in parsed.evidence if e.negated)),
        "age_years": case.age_years,
        "sex": case.sex.value if case.sex else None,
        "language": language.value,
        "instruction": decision.instruction,
        "escalated_for_missing_evidence": decision.escalated_for_missing_evidence,
    }


def summary(text: str, result: dict[str, Any]) -> str:
    """Return a readable account of ``result``."""
    lines = [
        f"Text: {text}",
        f"Patient: age {result['age_years'] if result['age_years'] is not None else 'unknown'}, "
        f"sex {result['sex'] or 'unknown'}, language {result['language']}",
        f"Evidence found: {', '.join(result['evidence']) or 'none'}"
        + (f"; denied: {', '.join(result['denied'])}" if result["denied"] else ""),
        f"Level: {result['level']}"
        + (
            " (escalated: safety questions unanswered)"
            if result["escalated_for_missing_evidence"]
            else ""
        ),
        f"Red flags: {', '.join(result['red_flags']) or 'none'}",
        f"Specialty: {result['specialty'] or '-'}",
        "Conditions:",
        *(f"  {c['probability']:6.1%}  {c['name']} ({c['icd10']})" for c in result["conditions"]),
        f"Instruction: {result['instruction']}",
        f"{result['disclaimer']}",
        f"Knowledge {result['knowledge_version']}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, assess the text and print the result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text", help="the case in free text (default: a demo case)")
    parser.add_argument("--age", type=float, help="age in years (fractions for infants)")
    parser.add_argument("--sex", choices=[s.value for s in Sex], help="M or F")
    parser.add_argument("--language", choices=[lang.value for lang in Language])
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)
    if args.age is not None and not 0 <= args.age <= 130:
        parser.error("--age must be between 0 and 130")
    text = args.text if args.text is not None else DEMO_TEXT
    if not text.strip():
        parser.error("--text is empty")
    result = assess(
        text,
        age=args.age,
        sex=Sex(args.sex) if args.sex else None,
        language=Language(args.language) if args.language else None,
    )
    print(summary(text, result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
