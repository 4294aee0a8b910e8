"""Sufficient statistics of the development patients.

How often each evidence and each answer value occurs per condition.

The model (``domain/model.py``) turns these counts into smoothed likelihoods at load time, so
the smoothing lives in ``knowledge/model.yaml`` and can change without refitting. Storing counts
instead of probabilities also keeps the file small and its meaning plain.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from voiceassist_triage.domain.case import Answer, Sex

AGE_BANDS: tuple[float, ...] = (0.0, 1.0, 5.0, 16.0, 30.0, 45.0, 60.0, 75.0)
"""Lower bounds of the age bands, in years: infants, small children, children, young adults..."""


def age_band(age_years: float) -> int:
    """Index of the band ``age_years`` falls in."""
    band = 0
    for index, lower in enumerate(AGE_BANDS):
        if age_years >= lower:
            band = index
    return band


def count_statistics(
    patients: Iterable[tuple[str, float, Sex, Iterable[Answer]]],
) -> dict[str, Any]:
    """Count per condition from ``(pathology, age_years, sex, answers)`` tuples.

    For each condition: ``n`` patients, ``female`` count, ``age_bands`` counts, ``evidence``
    (patients having each evidence at all) and ``values`` (patients giving each value of a
    choice or scale evidence).
    """
    per_condition: dict[str, dict[str, Any]] = {}
    for pathology, age_years, sex, answers in patients:
        entry = per_condition.setdefault(
            pathology,
            {
                "n": 0,
                "female": 0,
                "age_bands": [0] * len(AGE_BANDS),
                "evidence": Counter(),
                "values": defaultdict(Counter),
            },
        )
        entry["n"] += 1
        entry["female"] += int(sex is Sex.FEMALE)
        entry["age_bands"][age_band(age_years)] += 1
        seen: set[str] = set()
        for answer in answers:
            if answer.evidence_id not in seen:
                entry["evidence"][answer.evidence_id] += 1
                seen.add(answer.evidence_id)
            if not isinstance(answer.value, bool):
                entry["values"][answer.evidence_id][str(answer.value)] += 1
    return {
        name: {
            "n": entry["n"],
            "female": entry["female"],
            "age_bands": entry["age_bands"],
            "evidence": dict(sorted(entry["evidence"].items())),
            "values": {k: dict(sorted(v.items())) for k, v in sorted(entry["values"].items())},
        }
        for name, entry in sorted(per_condition.items())
    }
