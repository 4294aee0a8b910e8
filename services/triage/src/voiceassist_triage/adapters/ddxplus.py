"""Reader of patients in the official DDXPlus CSV format.

Columns: AGE, DIFFERENTIAL_DIAGNOSIS, SEX, PATHOLOGY, EVIDENCES, INITIAL_EVIDENCE.

Used to fit the likelihoods (``python -m voiceassist_triage.fit``) and by
``bench/triage_ddxplus.py``, which simulates each patient answering the interview. Evidence
strings look like ``E_53`` (yes/no), ``E_54_@_V_179`` (a choice) or ``E_56_@_7`` (a scale value).
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

from voiceassist_triage.domain.case import Answer, Sex


@dataclass(frozen=True)
class DdxPatient:
    """One synthetic DDXPlus patient."""

    age_years: float
    sex: Sex
    pathology: str
    answers: tuple[Answer, ...]
    """Every evidence the patient has; binary ones as ``True``, choices as value ids."""
    initial_evidence: str
    differential: tuple[tuple[str, float], ...]


def parse_evidence(token: str) -> Answer:
    """``"E_54_@_V_179"`` -> Answer("E_54", "V_179"); ``"E_53"`` -> Answer("E_53", True)."""
    evidence_id, separator, value = token.partition("_@_")
    return Answer(evidence_id, value if separator else True)


def read_patients(path: Path) -> list[DdxPatient]:
    """Every patient of the CSV file at ``path``; ValueError names the row of a malformed one."""
    patients = []
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                evidences = ast.literal_eval(row["EVIDENCES"])
                differential = ast.literal_eval(row["DIFFERENTIAL_DIAGNOSIS"])
                patients.append(
                    DdxPatient(
                        age_years=float(row["AGE"]),
                        sex=Sex(row["SEX"]),
                        pathology=row["PATHOLOGY"],
                        answers=tuple(parse_evidence(str(token)) for token in evidences),
                        initial_evidence=row["INITIAL_EVIDENCE"],
                        differential=tuple((str(n), float(p)) for n, p in differential),
                    )
                )
            except (KeyError, ValueError, SyntaxError) as error:
                raise ValueError(f"{path.name} row {number}: {error}") from error
    return patients
