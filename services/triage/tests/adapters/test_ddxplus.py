"""DDXPlus patient files are read in the official format, and bad rows are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from voiceassist_triage.adapters.ddxplus import parse_evidence, read_patients
from voiceassist_triage.domain.case import Answer, Sex

HEADER = "AGE,DIFFERENTIAL_DIAGNOSIS,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE\n"


def test_evidence_tokens_become_answers() -> None:
    assert parse_evidence("E_53") == Answer("E_53", True)
    assert parse_evidence("E_54_@_V_179") == Answer("E_54", "V_179")
    assert parse_evidence("E_56_@_7") == Answer("E_56", "7")


def test_reads_a_patient(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(
        HEADER + "64,\"[['Pneumonia', 0.6], ['URTI', 0.4]]\",M,Pneumonia,"
        "\"['E_53', 'E_56_@_7']\",E_53\n"
    )

    (patient,) = read_patients(path)

    assert (patient.age_years, patient.sex, patient.pathology) == (64.0, Sex.MALE, "Pneumonia")
    assert patient.answers == (Answer("E_53", True), Answer("E_56", "7"))
    assert patient.differential == (("Pneumonia", 0.6), ("URTI", 0.4))


def test_a_malformed_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "patients.csv"
    path.write_text(HEADER + "64,[[,M,Pneumonia,\"['E_53']\",E_53\n")

    with pytest.raises(ValueError, match="row 2"):
        read_patients(path)
