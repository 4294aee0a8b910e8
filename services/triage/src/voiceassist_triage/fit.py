"""Fit the engine's statistics from DDXPlus patients.

Usage: ``python -m voiceassist_triage.fit [--patients FILE.csv]``.

Writes ``knowledge/ddxplus_statistics.json`` (counts per condition; see
``domain/statistics.py``). Run it again after changing the patient file; the knowledge version
changes with the file's digest.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from voiceassist_triage.adapters.ddxplus import read_patients
from voiceassist_triage.domain.knowledge import KNOWLEDGE_DIR
from voiceassist_triage.domain.statistics import AGE_BANDS, count_statistics

DEFAULT_PATIENTS = (
    Path(__file__).resolve().parents[4] / "bench" / "data" / "ddxplus" / "dev_patients_1000.csv"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Count the statistics of ``--patients`` and write them next to the knowledge files."""
    parser = argparse.ArgumentParser(prog="python -m voiceassist_triage.fit")
    parser.add_argument("--patients", type=Path, default=DEFAULT_PATIENTS)
    parser.add_argument("--output", type=Path, default=KNOWLEDGE_DIR / "ddxplus_statistics.json")
    args = parser.parse_args(argv)
    patients = read_patients(args.patients)
    document = {
        "about": (
            "Counts per DDXPlus condition from the development patients "
            "(DDXPlus, CC-BY 4.0, Fansi Tchango et al. 2022); written by "
            "python -m voiceassist_triage.fit. Do not edit by hand."
        ),
        "patients": len(patients),
        "age_bands": list(AGE_BANDS),
        "conditions": count_statistics(
            (p.pathology, p.age_years, p.sex, p.answers) for p in patients
        ),
    }
    args.output.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", "utf-8")
    print(f"wrote {args.output} from {len(patients)} patients")


if __name__ == "__main__":
    main()
