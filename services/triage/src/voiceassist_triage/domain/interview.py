"""One turn of the triage interview: what to ask next, and whether to stop.

Order of concerns, most important first:

1. An emergency red flag has fired. ``provisional_level`` is then an emergency level, and the
   caller must tell the patient to call emergency services at once, before anything else. Like
   an emergency dispatcher who keeps the caller on the line after sending the ambulance, the
   interview may go on with a few *handover* questions (``handover_questions`` in
   ``knowledge/model.yaml``) that sharpen the differential for the emergency team; it stops
   (``EMERGENCY``) when they are asked or the ranking is settled. Red-flag checks of *more*
   urgent rules still come first.
2. The caller's question budget is spent: stop (``MAX_QUESTIONS``).
3. A dangerous presentation is plausible and the question that would confirm or rule it out is
   unanswered: ask it (``red_flag_check``), before anything that merely refines the ranking.
4. The ranking is settled (top condition at ``confident_probability``): stop (``CONFIDENT``).
5. Otherwise ask the question with the largest expected reduction of uncertainty about the
   condition and the urgency level (``BayesModel.question_values``), unless even that is below
   ``minimum_gain`` (``NO_QUESTIONS_LEFT``).
"""

from __future__ import annotations

from voiceassist_triage.domain import redflags, urgency
from voiceassist_triage.domain.case import Case, Language
from voiceassist_triage.domain.knowledge import EvidenceDef, EvidenceKind, KnowledgeBase
from voiceassist_triage.domain.model import BayesModel
from voiceassist_triage.domain.results import (
    Choice,
    DiagnoseResult,
    QuestionOut,
    StopReason,
)

RANKING_SIZE = 10
"""How many conditions a response lists."""


def candidates(kb: KnowledgeBase, case: Case) -> list[EvidenceDef]:
    """List the knowledge-base questions that may be asked now.

    Not yet answered, and their parent question (if any) answered yes. Extension evidences are
    asked only as red-flag checks.
    """
    asked = case.asked()
    return [
        e
        for e in kb.evidences.values()
        if e.id not in asked
        and e.source == "ddxplus"
        and (e.parent is None or case.is_present(e.parent))
    ]


def question(evidence: EvidenceDef, language: Language, *, red_flag: bool) -> QuestionOut:
    """``evidence`` as a question in ``language``, with its answers."""
    choices: tuple[Choice, ...] = ()
    low = high = None
    if evidence.scale is not None:
        low, high = evidence.scale
    elif evidence.kind in {EvidenceKind.CATEGORICAL, EvidenceKind.MULTI}:
        choices = tuple(Choice(v.id, v.text[language]) for v in evidence.values)
    return QuestionOut(
        evidence_id=evidence.id,
        text=evidence.question[language],
        kind=evidence.kind,
        language=language,
        choices=choices,
        min_value=low,
        max_value=high,
        red_flag_check=red_flag,
    )


def next_turn(
    model: BayesModel,
    case: Case,
    language: Language,
    *,
    questions_asked: int,
    max_questions: int,
) -> DiagnoseResult:
    """Rank the conditions for ``case`` and decide the next question or the stop."""
    kb = model.kb
    posterior = model.posterior(case)
    ranking = model.ranking(posterior, RANKING_SIZE)
    level = urgency.provisional_level(kb, case, model.ranking(posterior))

    fired_flags = tuple(redflags.fired_flags(kb, case, language))

    def stop(reason: StopReason) -> DiagnoseResult:
        return DiagnoseResult(ranking, None, True, reason, level, fired_flags)

    def ask(evidence: EvidenceDef, *, red_flag: bool) -> DiagnoseResult:
        next_question = question(evidence, language, red_flag=red_flag)
        return DiagnoseResult(ranking, next_question, False, StopReason.NONE, level, fired_flags)

    fired = [f.level for f in fired_flags if f.level.is_emergency]
    emergency = min(fired) if fired else None
    confident = bool(ranking) and ranking[0].probability >= model.hyper.confident_probability
    if emergency is not None and (
        confident or _questions_since_emergency(kb, case) >= model.hyper.handover_questions
    ):
        return stop(StopReason.EMERGENCY)
    if questions_asked >= max_questions:
        return stop(StopReason.EMERGENCY if emergency else StopReason.MAX_QUESTIONS)
    for evidence_id, rule_level in redflags.pending_red_flag_questions(kb, case):
        if emergency is not None and rule_level >= emergency:
            continue  # cannot make the outcome more urgent than it already is
        evidence = kb.evidences[evidence_id]
        if evidence.parent is None or case.is_present(evidence.parent):
            return ask(evidence, red_flag=True)
    if confident:
        return stop(StopReason.CONFIDENT)
    values = model.question_values(posterior, candidates(kb, case))
    best = max(values, key=lambda evidence_id: values[evidence_id]) if values else None
    if best is None or values[best] < model.hyper.minimum_gain:
        return stop(StopReason.EMERGENCY if emergency else StopReason.NO_QUESTIONS_LEFT)
    return ask(kb.evidences[best], red_flag=False)


def _questions_since_emergency(kb: KnowledgeBase, case: Case) -> int:
    """Count the questions answered after an emergency flag first fired (0 if none has).

    The API is stateless, so this replays the answers in the order the caller sent them.
    Answers that came together with the first firing (the chief complaint, a multiple-choice
    answer) do not count.
    """
    answers = case.answers
    for end in range(1, len(answers) + 1):
        prefix = Case(age_years=case.age_years, sex=case.sex, answers=answers[:end])
        if any(rule.level.is_emergency for rule, _ in redflags.evaluate(kb, prefix).fired):
            already = {a.evidence_id for a in answers[:end]}
            return len({a.evidence_id for a in answers[end:]} - already)
    return 0
