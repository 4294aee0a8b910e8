"""What the engine knows about one patient: age, sex and the answers given so far.

The triage API is stateless (the caller resends everything on every turn), so a ``Case`` is an
immutable value built per request. It is deliberately free of protobuf types: the engine, the
bench scripts and the tests use it without a network or generated code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from voiceassist_common.clinical import Urgency

__all__ = ["Answer", "AnswerValue", "Case", "Language", "Sex", "Urgency"]

AnswerValue = bool | str | float | None
"""One answer: bool for yes/no, a value id (``"V_123"``) for choices, a number for scales and
measurements, ``None`` for "asked, the patient does not know"."""


class Sex(StrEnum):
    """Biological sex as the knowledge base models it."""

    FEMALE = "F"
    MALE = "M"


class Language(StrEnum):
    """Languages the knowledge base has texts for."""

    EN = "en"
    FR = "fr"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answered evidence. Multiple-choice evidence has one ``Answer`` per chosen value."""

    evidence_id: str
    value: AnswerValue = True


@dataclass(frozen=True)
class Case:
    """Age, sex and every answer so far; ``answers`` keeps the caller's order."""

    age_years: float | None = None
    sex: Sex | None = None
    answers: tuple[Answer, ...] = field(default_factory=tuple)

    def asked(self) -> frozenset[str]:
        """Evidence ids that have an answer (including "unknown"): never asked again."""
        return frozenset(a.evidence_id for a in self.answers)

    def is_present(self, evidence_id: str) -> bool:
        """Tell whether a yes/no evidence was answered yes (or a choice or number given)."""
        return any(
            a.evidence_id == evidence_id and a.value is not None and a.value is not False
            for a in self.answers
        )

    def is_absent(self, evidence_id: str) -> bool:
        """Tell whether a yes/no evidence was explicitly answered no."""
        return any(a.evidence_id == evidence_id and a.value is False for a in self.answers)

    def values(self, evidence_id: str) -> tuple[AnswerValue, ...]:
        """Every value given for ``evidence_id`` (several for multiple choice)."""
        return tuple(a.value for a in self.answers if a.evidence_id == evidence_id)

    def number(self, evidence_id: str) -> float | None:
        """Return the number given for a scale or measured evidence, if any."""
        for a in self.answers:
            if a.evidence_id != evidence_id:
                continue
            if isinstance(a.value, bool):
                continue
            if isinstance(a.value, int | float):
                return float(a.value)
            if isinstance(a.value, str):
                try:
                    return float(a.value)
                except ValueError:
                    continue
        return None

    def with_answers(self, *answers: Answer) -> Case:
        """Return a copy with ``answers`` appended (the case itself is immutable)."""
        return Case(age_years=self.age_years, sex=self.sex, answers=self.answers + answers)
