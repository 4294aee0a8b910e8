"""The triage evaluation entry points work from a fresh environment, with no service running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*arguments: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_ddxplus_bench_prints_the_figures_as_json() -> None:
    figures = run("bench/triage_ddxplus.py", "--limit", "40", "--json")

    assert set(figures) >= {"gtpa1", "top5", "mean_questions", "median_questions", "ddf1", "n"}
    assert figures["n"] == 40
    assert float(str(figures["top5"])) >= 0.9


def test_ddxplus_bench_honours_the_question_limit() -> None:
    figures = run("bench/triage_ddxplus.py", "--limit", "20", "--max-questions", "2", "--json")

    assert float(str(figures["mean_questions"])) <= 2


def test_assess_bench_sends_crushing_chest_pain_to_an_ambulance() -> None:
    result = run(
        "bench/triage_assess.py",
        "--text",
        "A 64-year-old man with crushing chest pain spreading to the left arm, sweating.",
        "--json",
    )

    assert result["level"] == "emergency_ambulance"
    assert result["specialty"] is None
    assert result["red_flags"]
