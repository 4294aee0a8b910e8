"""The triage engine facade: Parse, Diagnose, Triage and Explain over one knowledge base.

The one object the gRPC handlers, the bench scripts and the tests call. It is stateless (the
caller sends the whole case every time) and does no I/O, so it runs the same in the service, in
``bench/`` and in a unit test. Building it fits the model once (about a second); calls are then
a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from voiceassist_triage.domain import interview, parser, urgency
from voiceassist_triage.domain.case import Case, Language
from voiceassist_triage.domain.findings import finding
from voiceassist_triage.domain.knowledge import EvidenceKind, KnowledgeBase
from voiceassist_triage.domain.model import BayesModel, log_ratio
from voiceassist_triage.domain.results import (
    ConditionExplanation,
    Contribution,
    DiagnoseResult,
    ParseResult,
    RankedCondition,
    TriageDecision,
)

EXPLAINED_BY_DEFAULT = 5
MINIMUM_WEIGHT = 0.05
"""Findings that move a condition less than this (natural log of the ratio) are not listed."""


class InvalidEvidence(ValueError):  # noqa: N818 - reads as the clinical statement it reports
    """An answer the knowledge base cannot accept; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TriageEngine:
    """Stateless engine: every call gets the whole case."""

    def __init__(self, kb: KnowledgeBase, *, max_questions: int = 20) -> None:
        if max_questions < 1:
            raise ValueError("max_questions must be at least 1")
        self.kb = kb
        self.max_questions = max_questions
        self.model = BayesModel(kb)

    def validate(self, case: Case) -> None:
        """Raise InvalidEvidence for an unknown evidence id or a value it cannot take."""
        if case.age_years is not None and not 0 <= case.age_years <= 130:
            raise InvalidEvidence("patient.age_years", "age must be between 0 and 130 years")
        for index, answer in enumerate(case.answers):
            where = f"evidence[{index}]"
            evidence = self.kb.evidences.get(answer.evidence_id)
            if evidence is None:
                raise InvalidEvidence(
                    f"{where}.evidence_id", f"unknown evidence id {answer.evidence_id!r}"
                )
            value = answer.value
            if value is None:
                continue
            if evidence.kind is EvidenceKind.BINARY:
                if not isinstance(value, bool):
                    raise InvalidEvidence(
                        f"{where}.present", f"{evidence.id} is answered yes or no (present)"
                    )
            elif isinstance(value, bool):
                raise InvalidEvidence(
                    f"{where}.value_id", f"{evidence.id} is not a yes/no question"
                )
            elif isinstance(value, int | float):
                if evidence.scale is None:
                    raise InvalidEvidence(
                        f"{where}.value_id", f"{evidence.id} is answered with one of its choices"
                    )
                low, high = evidence.scale
                if not low <= float(value) <= high:
                    raise InvalidEvidence(
                        f"{where}.number", f"{evidence.id} takes a number from {low:g} to {high:g}"
                    )
            elif evidence.value(value) is None:
                raise InvalidEvidence(
                    f"{where}.value_id", f"{evidence.id} has no value with that id"
                )

    def parse(
        self, text: str, language: Language | None = None, answering_evidence_id: str | None = None
    ) -> ParseResult:
        """Evidence, age and sex found in ``text``."""
        if answering_evidence_id is not None and answering_evidence_id not in self.kb.evidences:
            raise InvalidEvidence(
                "answering_evidence_id", f"unknown evidence id {answering_evidence_id!r}"
            )
        return parser.parse_text(self.kb, text, language, answering_evidence_id)

    def diagnose(
        self,
        case: Case,
        language: Language = Language.EN,
        *,
        questions_asked: int = 0,
        max_questions: int | None = None,
    ) -> DiagnoseResult:
        """One interview turn: ranking, next question or stop, provisional urgency."""
        self.validate(case)
        if max_questions is not None and max_questions < 1:
            raise InvalidEvidence("max_questions", "max_questions must be at least 1")
        return interview.next_turn(
            self.model,
            case,
            language,
            questions_asked=questions_asked,
            max_questions=max_questions or self.max_questions,
        )

    def rank(
        self, case: Case, limit: int | None = interview.RANKING_SIZE
    ) -> tuple[RankedCondition, ...]:
        """Rank the differential for ``case`` (all conditions when ``limit`` is None)."""
        return self.model.ranking(self.model.posterior(case), limit)

    def triage(self, case: Case, language: Language = Language.EN) -> TriageDecision:
        """Decide the urgency, with red flags, instruction, specialty and ranking."""
        self.validate(case)
        return urgency.decide(self.kb, case, self.rank(case, None), language)

    def explain(
        self, case: Case, language: Language = Language.EN, condition_ids: Sequence[str] = ()
    ) -> tuple[ConditionExplanation, ...]:
        """Evidence for and against each requested (or each of the top five) conditions."""
        self.validate(case)
        for index, condition_id in enumerate(condition_ids):
            if condition_id not in self.model.index:
                raise InvalidEvidence(
                    f"condition_ids[{index}]", f"unknown condition id {condition_id!r}"
                )
        posterior = self.model.posterior(case)
        ranking = self.model.ranking(posterior)
        if condition_ids:
            wanted = set(condition_ids)
            chosen = tuple(r for r in ranking if r.condition.id in wanted)
        else:
            chosen = ranking[:EXPLAINED_BY_DEFAULT]
        observations = self.model.observations(case)
        explanations = []
        for ranked in chosen:
            index = self.model.index[ranked.condition.id]
            contributions: dict[str, float] = {}
            for observation in observations:
                weight = log_ratio(observation.loglik, posterior, index)
                contributions[observation.evidence_id] = (
                    contributions.get(observation.evidence_id, 0.0) + weight
                )
            items = [
                Contribution(evidence_id, self._finding_text(case, evidence_id, language), w)
                for evidence_id, w in contributions.items()
                if abs(w) >= MINIMUM_WEIGHT
            ]
            explanations.append(
                ConditionExplanation(
                    condition=ranked,
                    supporting=tuple(
                        sorted((c for c in items if c.weight > 0), key=lambda c: -c.weight)
                    ),
                    opposing=tuple(
                        sorted((c for c in items if c.weight < 0), key=lambda c: c.weight)
                    ),
                )
            )
        return tuple(explanations)

    def _finding_text(self, case: Case, evidence_id: str, language: Language) -> str:
        values = [v for v in case.values(evidence_id) if v is not None]
        question, _ = finding(self.kb, evidence_id, None, language)
        answers = ", ".join(finding(self.kb, evidence_id, v, language)[1] for v in values)
        return f"{question} {answers}".strip()
