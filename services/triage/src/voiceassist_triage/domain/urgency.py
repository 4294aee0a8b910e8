"""The urgency decision: how soon, and where, the patient should be seen.

Three inputs, applied in an order that can only make the advice safer:

1. the ranked conditions: the most urgent level whose cumulative probability (conditions of that
   level or a more urgent one) reaches its threshold in ``knowledge/levels.yaml``, where the
   thresholds are low for dangerous levels because a missed emergency costs far more than an
   unneeded visit (the reasoning is written out in that file);
2. red flags (``redflags.py``), which raise the level and are reported with the decision;
3. unanswered red-flag questions on a plausible emergency branch, which escalate the level
   ("never guess low") and are reported as missing evidence.

With no evidence at all the answer is a consultation, never self-care. The decision also names
the specialty to book (none for the two emergency levels) and the instruction to speak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voiceassist_triage.domain.case import Case, Language, Urgency
from voiceassist_triage.domain.knowledge import KnowledgeBase, KnowledgeError
from voiceassist_triage.domain.redflags import RedFlagEvaluation, RedFlagRule, evaluate
from voiceassist_triage.domain.results import RankedCondition, TriageDecision

_GENERAL_PRACTICE = "general_practice"
_PEDIATRICS = "pediatrics"


@dataclass(frozen=True)
class LevelPolicy:
    """The contents of ``levels.yaml``, checked."""

    thresholds: Mapping[Urgency, float]
    """Cumulative probability needed for each level except self-care."""
    no_evidence_level: Urgency
    missing_steps: int
    missing_floor: Urgency
    missing_note: Mapping[Language, str]
    pediatrics_under_age: float
    instructions: Mapping[Urgency, Mapping[Language, str]]


_POLICIES: dict[str, LevelPolicy] = {}


def _level(raw: Any, what: str) -> Urgency:
    try:
        return Urgency[str(raw).upper()]
    except KeyError:
        raise KnowledgeError(f"levels.yaml: {what} is not an urgency level: {raw!r}") from None


def _texts(raw: Any, what: str) -> dict[Language, str]:
    if not isinstance(raw, Mapping) or not all(raw.get(lang.value) for lang in Language):
        raise KnowledgeError(f"levels.yaml: {what} needs a text in every language")
    return {lang: str(raw[lang.value]) for lang in Language}


def level_policy(kb: KnowledgeBase) -> LevelPolicy:
    """Return the checked ``levels.yaml`` of ``kb`` (parsed once per knowledge version)."""
    policy = _POLICIES.get(kb.version)
    if policy is not None:
        return policy
    raw = kb.documents.get("levels")
    if not isinstance(raw, Mapping):
        raise KnowledgeError("levels.yaml is missing")
    try:
        thresholds = {
            _level(name, "a threshold"): float(value) for name, value in raw["thresholds"].items()
        }
        missing = raw["missing_evidence"]
        levels = raw["levels"]
        policy = LevelPolicy(
            thresholds=thresholds,
            no_evidence_level=_level(raw["no_evidence_level"], "no_evidence_level"),
            missing_steps=int(missing["steps"]),
            missing_floor=_level(missing["floor"], "missing_evidence.floor"),
            missing_note=_texts(missing["note"], "missing_evidence.note"),
            pediatrics_under_age=float(raw["pediatrics_under_age"]),
            instructions={
                level: _texts(levels[level.name.lower()]["instruction"], level.name.lower())
                for level in Urgency
            },
        )
    except (KeyError, TypeError, ValueError) as error:
        raise KnowledgeError(f"levels.yaml is incomplete or malformed: {error!r}") from None
    if set(policy.thresholds) != set(Urgency) - {Urgency.SELF_CARE}:
        raise KnowledgeError("levels.yaml needs a threshold for every level except self_care")
    if policy.no_evidence_level is Urgency.SELF_CARE:
        raise KnowledgeError("levels.yaml: with no evidence the advice cannot be self-care")
    _POLICIES[kb.version] = policy
    return policy


def ranking_level(policy: LevelPolicy, ranking: Sequence[RankedCondition]) -> Urgency:
    """Return the most urgent level whose cumulative probability reaches its threshold."""
    mass = dict.fromkeys(Urgency, 0.0)
    for ranked in ranking:
        mass[ranked.condition.urgency] += ranked.probability
    cumulative = 0.0
    for level in sorted(Urgency):
        if level is Urgency.SELF_CARE:
            break
        cumulative += mass[level]
        if cumulative >= policy.thresholds[level]:
            return level
    return Urgency.SELF_CARE


@dataclass(frozen=True)
class _Outcome:
    level: Urgency
    red_flags: RedFlagEvaluation
    escalated: bool


_LINKED: dict[str, frozenset[str]] = {}


def _informs_ranking(kb: KnowledgeBase, case: Case) -> bool:
    """Tell whether any finding the patient has is linked to a condition of the ranking.

    Without one (only denials, or only findings the conditions do not model, such as suicidal
    thoughts or a high blood sugar) the ranking is little more than the prior, whose share of
    dangerous conditions says nothing about this patient; the red flags and the no-evidence
    level decide instead.
    """
    linked = _LINKED.get(kb.version)
    if linked is None:
        linked = frozenset().union(*(c.evidences for c in kb.conditions.values()))
        _LINKED[kb.version] = linked
    return any(
        a.evidence_id in linked and a.value is not None and a.value is not False
        for a in case.answers
    )


def _outcome(kb: KnowledgeBase, case: Case, ranking: Sequence[RankedCondition]) -> _Outcome:
    policy = level_policy(kb)
    if ranking and _informs_ranking(kb, case):
        level = ranking_level(policy, ranking)
    else:
        level = policy.no_evidence_level
    red_flags = evaluate(kb, case)
    for rule, _ in red_flags.fired:
        level = level.raised_to(rule.level)
    escalated = False
    if red_flags.missing:
        wanted = dict(red_flags.pending)
        most_urgent_branch = min(wanted[evidence_id] for evidence_id in red_flags.missing)
        if most_urgent_branch < level:
            stepped = Urgency(max(int(Urgency.EMERGENCY_AMBULANCE), level - policy.missing_steps))
            # Never beyond the plausible rule's own level: escalation is for a doubt, not a fact.
            escalated_level = max(stepped.raised_to(policy.missing_floor), most_urgent_branch)
            escalated = escalated_level < level
            level = level.raised_to(escalated_level)
    return _Outcome(level=level, red_flags=red_flags, escalated=escalated)


def provisional_level(kb: KnowledgeBase, case: Case, ranking: Sequence[RankedCondition]) -> Urgency:
    """Return the level the decision would give if the interview stopped now."""
    return _outcome(kb, case, ranking).level


def _specialty(
    policy: LevelPolicy,
    case: Case,
    level: Urgency,
    flags: Sequence[RedFlagRule],
    ranking: Sequence[RankedCondition],
) -> str | None:
    if level.is_emergency:
        return None
    specialty = next(
        (rule.specialty for rule in flags if rule.specialty and rule.level == level), None
    )
    if specialty is None:
        top = max(ranking, key=lambda r: r.probability, default=None)
        specialty = top.condition.specialty if top else _GENERAL_PRACTICE
    is_child = case.age_years is not None and case.age_years < policy.pediatrics_under_age
    if is_child and specialty == _GENERAL_PRACTICE:
        return _PEDIATRICS
    return specialty


def decide(
    kb: KnowledgeBase, case: Case, ranking: Sequence[RankedCondition], language: Language
) -> TriageDecision:
    """Decide how urgently and where ``case`` should be seen, with texts in ``language``."""
    policy = level_policy(kb)
    outcome = _outcome(kb, case, ranking)
    flags = outcome.red_flags.flags(language)
    parts = [policy.instructions[outcome.level][language]]
    if flags:
        parts.append(flags[0].reason)
    if outcome.escalated:
        parts.append(policy.missing_note[language])
    return TriageDecision(
        level=outcome.level,
        red_flags=flags,
        instruction=" ".join(parts),
        specialty=_specialty(
            policy, case, outcome.level, [rule for rule, _ in outcome.red_flags.fired], ranking
        ),
        conditions=tuple(ranking),
        escalated_for_missing_evidence=outcome.escalated,
        missing_evidence_ids=outcome.red_flags.missing if outcome.escalated else (),
    )
