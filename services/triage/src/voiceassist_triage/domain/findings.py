"""Evidence put back into words: the question and the answer as a clinician reads them.

Used by Explain ("Do you have a fever? — Yes") and by the clinician's summary of an assessment
(``Assessment.findings``). Texts come from the knowledge base, never from what the patient said,
so a summary holds no free text.
"""

from __future__ import annotations

from voiceassist_triage.domain.case import AnswerValue, Language
from voiceassist_triage.domain.knowledge import EvidenceDef, EvidenceKind, KnowledgeBase

_WORDS = {
    Language.EN: {"yes": "Yes", "no": "No", "unknown": "Unknown", "of": "of"},
    Language.FR: {"yes": "Oui", "no": "Non", "unknown": "Ne sait pas", "of": "sur"},
}


def answer_text(evidence: EvidenceDef, value: AnswerValue, language: Language) -> str:
    """``value`` of ``evidence`` as words: "Yes", "7 of 10", "38.5 °C", a choice's text."""
    words = _WORDS[language]
    if value is None:
        return words["unknown"]
    if evidence.kind is EvidenceKind.BINARY or isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, int | float):
        number = f"{value:g}"
        if evidence.scale and evidence.kind is EvidenceKind.CATEGORICAL:
            return f"{number} {words['of']} {evidence.scale[1]:g}"
        return f"{number} {evidence.unit}" if evidence.unit else number
    choice = evidence.value(str(value))
    if choice is None:
        return str(value)
    text = choice.text[language]
    if evidence.scale and evidence.kind is EvidenceKind.CATEGORICAL:
        return f"{text} {words['of']} {evidence.scale[1]:g}"
    return text


def finding(
    kb: KnowledgeBase, evidence_id: str, value: AnswerValue, language: Language
) -> tuple[str, str]:
    """Return the question and the answer text for one piece of evidence."""
    evidence = kb.evidence(evidence_id)
    return evidence.question[language], answer_text(evidence, value, language)
