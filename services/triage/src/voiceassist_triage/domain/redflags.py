"""Red-flag rules: the findings that make a case urgent whatever the likely diagnosis.

The rules are data (``knowledge/red_flags.yaml``, whose header documents the condition
language); this module compiles them once per knowledge version into closures and evaluates
them on every interview turn. Three questions are answered here:

- which rules fire for a case (they can only raise the urgency, see ``urgency.py``);
- which red-flag questions to ask next, because a danger is plausible but not yet decided;
- which questions are still unanswered on a plausible emergency branch, so that the decision
  escalates instead of guessing low.

Compilation checks every evidence and value id against the knowledge base, so a typo in a rule
file stops the service at start-up instead of silently never firing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voiceassist_triage.domain.case import AnswerValue, Case, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import EvidenceKind, KnowledgeBase, KnowledgeError
from voiceassist_triage.domain.results import FiredFlag


class _CaseView:
    """The case's answers grouped by evidence id.

    Built once per call, so that no predicate scans the whole answer list.
    """

    __slots__ = ("age_years", "answers", "sex")

    def __init__(self, case: Case) -> None:
        self.age_years = case.age_years
        self.sex = case.sex
        answers: dict[str, list[AnswerValue]] = {}
        for answer in case.answers:
            answers.setdefault(answer.evidence_id, []).append(answer.value)
        self.answers = answers

    def present(self, evidence_id: str) -> bool:
        return any(v is not None and v is not False for v in self.answers.get(evidence_id, ()))

    def absent(self, evidence_id: str) -> bool:
        return any(v is False for v in self.answers.get(evidence_id, ()))

    def chose_any(self, evidence_id: str, value_ids: frozenset[str]) -> bool:
        return any(isinstance(v, str) and v in value_ids for v in self.answers.get(evidence_id, ()))

    def number(self, evidence_id: str) -> float | None:
        for value in self.answers.get(evidence_id, ()):
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, int | float):
                return float(value)
            try:
                return float(value)
            except ValueError:
                continue
        return None

    def answered(self, evidence_id: str) -> bool:
        return evidence_id in self.answers


Predicate = Callable[[_CaseView], tuple[str, ...] | None]
"""A compiled condition: None when it does not hold, else the evidence ids that made it hold."""

_NO_IDS: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedFlagRule:
    """One compiled rule of ``red_flags.yaml``."""

    id: str
    category: str
    name: Mapping[Language, str]
    reason: Mapping[Language, str]
    level: Urgency
    source: str
    asks: tuple[str, ...]
    """Evidence ids to ask while the rule is plausible and has not fired, in order."""
    specialty: str | None
    """Specialty to book when this rule decides a non-emergency level, if the rule names one."""
    when: Predicate
    plausible_when: Predicate | None

    def fires(self, view: _CaseView) -> tuple[str, ...] | None:
        """Return the evidence ids that make the rule fire, or None when it does not."""
        return self.when(view)

    def is_plausible(self, view: _CaseView) -> bool:
        """Tell whether the danger is plausible (whether or not the rule has fired)."""
        return self.plausible_when is not None and self.plausible_when(view) is not None


_LEVELS = {level.name.lower(): level for level in Urgency}
_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class _Compiler:
    """Turns the YAML condition trees of one rule into predicates, checking every id."""

    def __init__(self, kb: KnowledgeBase, defines: Mapping[str, Any]) -> None:
        self.kb = kb
        self.defines = defines
        self.compiled_defines: dict[str, Predicate] = {}
        self.rule_id = "define"

    def error(self, message: str) -> KnowledgeError:
        return KnowledgeError(f"red_flags.yaml rule {self.rule_id}: {message}")

    def evidence(self, evidence_id: Any) -> str:
        checked = str(evidence_id)
        if checked not in self.kb.evidences:
            raise self.error(f"unknown evidence id {checked}")
        return checked

    def compile(self, node: Any, resolving: tuple[str, ...] = ()) -> Predicate:
        if not isinstance(node, Mapping):
            raise self.error(f"a condition must be a mapping, got {node!r}")
        if "at_least" in node:
            return self._at_least(node, resolving)
        if len(node) != 1:
            raise self.error(f"a condition has exactly one key, got {sorted(node)}")
        ((key, arg),) = node.items()
        if key in {"all", "any"}:
            parts = [self.compile(child, resolving) for child in self._list(arg, key)]
            return _all(parts) if key == "all" else _any(parts)
        if key == "not":
            children = arg if isinstance(arg, list) else [arg]
            return _not([self.compile(child, resolving) for child in children])
        if key == "ref":
            return self._ref(str(arg), resolving)
        leaf = self._leaf(key, arg)
        if leaf is None:
            raise self.error(f"unknown condition {key!r}")
        return leaf

    def _leaf(self, key: str, arg: Any) -> Predicate | None:
        if key == "present":
            return _present(self.evidence(arg))
        if key == "absent":
            return _absent(self.evidence(arg))
        if key == "value":
            return self._value(arg)
        if key == "number":
            return self._number(arg)
        if key == "age_years":
            return _age(self._comparison(arg, "age_years"))
        if key == "sex":
            try:
                return _sex(Sex(str(arg)))
            except ValueError:
                raise self.error(f"unknown sex {arg!r}") from None
        return None

    def _list(self, arg: Any, key: str) -> list[Any]:
        if not isinstance(arg, list) or not arg:
            raise self.error(f"{key} needs a non-empty list")
        return arg

    def _at_least(self, node: Mapping[str, Any], resolving: tuple[str, ...]) -> Predicate:
        if set(node) != {"at_least", "of"}:
            raise self.error(f"at_least takes exactly the keys at_least and of, got {sorted(node)}")
        count = int(node["at_least"])
        parts = [self.compile(child, resolving) for child in self._list(node["of"], "of")]
        if not 1 <= count <= len(parts):
            raise self.error(f"at_least {count} of {len(parts)} conditions can never hold")
        return _at_least(count, parts)

    def _ref(self, name: str, resolving: tuple[str, ...]) -> Predicate:
        if name in self.compiled_defines:
            return self.compiled_defines[name]
        if name not in self.defines:
            raise self.error(f"unknown ref {name!r}")
        if name in resolving:
            raise self.error(f"ref {name!r} refers to itself")
        predicate = self.compile(self.defines[name], (*resolving, name))
        self.compiled_defines[name] = predicate
        return predicate

    def _value(self, arg: Any) -> Predicate:
        if not isinstance(arg, Mapping) or len(arg) != 1:
            raise self.error("value takes one evidence id mapped to a list of value ids")
        ((raw_id, raw_values),) = arg.items()
        evidence = self.kb.evidences.get(str(raw_id))
        if evidence is None:
            raise self.error(f"unknown evidence id {raw_id}")
        if evidence.kind not in {EvidenceKind.CATEGORICAL, EvidenceKind.MULTI}:
            raise self.error(f"{evidence.id} has no values to choose from")
        values = raw_values if isinstance(raw_values, list) else [raw_values]
        for value_id in values:
            if evidence.value(str(value_id)) is None:
                raise self.error(f"unknown value id {value_id} of {evidence.id}")
        return _chosen(evidence.id, frozenset(str(v) for v in values))

    def _number(self, arg: Any) -> Predicate:
        if not isinstance(arg, Mapping) or len(arg) != 1:
            raise self.error("number takes one evidence id mapped to comparisons")
        ((raw_id, comparison),) = arg.items()
        evidence = self.kb.evidences.get(str(raw_id))
        if evidence is None:
            raise self.error(f"unknown evidence id {raw_id}")
        if evidence.kind is not EvidenceKind.NUMBER and not evidence.is_scale:
            raise self.error(f"{evidence.id} is not answered with a number")
        return _number(evidence.id, self._comparison(comparison, evidence.id))

    def _comparison(self, arg: Any, what: str) -> Callable[[float], bool]:
        if not isinstance(arg, Mapping) or not arg:
            raise self.error(f"{what} needs comparisons such as {{gte: 38}}")
        checks: list[tuple[Callable[[float, float], bool], float]] = []
        for op, bound in arg.items():
            if op not in _COMPARATORS:
                raise self.error(f"unknown comparison {op!r} for {what}")
            checks.append((_COMPARATORS[op], float(bound)))
        return lambda x: all(compare(x, bound) for compare, bound in checks)


def _present(evidence_id: str) -> Predicate:
    ids = (evidence_id,)
    return lambda view: ids if view.present(evidence_id) else None


def _absent(evidence_id: str) -> Predicate:
    ids = (evidence_id,)
    return lambda view: ids if view.absent(evidence_id) else None


def _chosen(evidence_id: str, value_ids: frozenset[str]) -> Predicate:
    ids = (evidence_id,)
    return lambda view: ids if view.chose_any(evidence_id, value_ids) else None


def _number(evidence_id: str, holds: Callable[[float], bool]) -> Predicate:
    ids = (evidence_id,)

    def predicate(view: _CaseView) -> tuple[str, ...] | None:
        value = view.number(evidence_id)
        return ids if value is not None and holds(value) else None

    return predicate


def _age(holds: Callable[[float], bool]) -> Predicate:
    return lambda view: (
        _NO_IDS if view.age_years is not None and holds(float(view.age_years)) else None
    )


def _sex(sex: Sex) -> Predicate:
    return lambda view: _NO_IDS if view.sex is sex else None


def _all(parts: Sequence[Predicate]) -> Predicate:
    def predicate(view: _CaseView) -> tuple[str, ...] | None:
        ids: tuple[str, ...] = ()
        for part in parts:
            found = part(view)
            if found is None:
                return None
            ids += found
        return ids

    return predicate


def _any(parts: Sequence[Predicate]) -> Predicate:
    def predicate(view: _CaseView) -> tuple[str, ...] | None:
        ids: tuple[str, ...] | None = None
        for part in parts:
            found = part(view)
            if found is not None:
                ids = found if ids is None else ids + found
        return ids

    return predicate


def _not(parts: Sequence[Predicate]) -> Predicate:
    return lambda view: None if any(part(view) is not None for part in parts) else _NO_IDS


def _at_least(count: int, parts: Sequence[Predicate]) -> Predicate:
    def predicate(view: _CaseView) -> tuple[str, ...] | None:
        ids: tuple[str, ...] = ()
        held = 0
        for part in parts:
            found = part(view)
            if found is not None:
                held += 1
                ids += found
        return ids if held >= count else None

    return predicate


_RULE_KEYS = {
    "id",
    "category",
    "name",
    "reason",
    "level",
    "source",
    "specialty",
    "when",
    "plausible_when",
    "ask",
}


def _texts(raw: Any, what: str) -> dict[Language, str]:
    if not isinstance(raw, Mapping) or not all(raw.get(lang.value) for lang in Language):
        raise KnowledgeError(
            f"red_flags.yaml rule {what} needs texts in {[str(x) for x in Language]}"
        )
    return {lang: str(raw[lang.value]) for lang in Language}


def compile_rules(kb: KnowledgeBase) -> tuple[RedFlagRule, ...]:
    """Compile ``red_flags.yaml`` of ``kb``, most urgent rules first (file order within a level).

    Raises KnowledgeError naming the rule and the id for an unknown evidence or value id, an
    unknown key, a missing source or text, or a duplicated rule id.
    """
    document = kb.documents.get("red_flags") or {}
    compiler = _Compiler(kb, document.get("define") or {})
    rules: list[RedFlagRule] = []
    seen: set[str] = set()
    for raw in document.get("rules") or []:
        rule_id = str(raw.get("id", ""))
        compiler.rule_id = rule_id or "<without id>"
        unknown_keys = set(raw) - _RULE_KEYS
        if unknown_keys:
            raise compiler.error(f"unknown keys {sorted(unknown_keys)}")
        if not rule_id or rule_id in seen:
            raise compiler.error("every rule needs a unique id")
        seen.add(rule_id)
        level = _LEVELS.get(str(raw.get("level", "")).lower())
        if level is None or level is Urgency.SELF_CARE:
            raise compiler.error(
                f"level must be more urgent than self_care, got {raw.get('level')}"
            )
        source = str(raw.get("source") or "").strip()
        if not source:
            raise compiler.error("every rule cites its clinical source")
        if "when" not in raw:
            raise compiler.error("a rule needs a when condition")
        asks = tuple(compiler.evidence(e) for e in raw.get("ask") or [])
        plausible = raw.get("plausible_when")
        rules.append(
            RedFlagRule(
                id=rule_id,
                category=str(raw.get("category") or rule_id),
                name=_texts(raw.get("name"), rule_id),
                reason=_texts(raw.get("reason"), rule_id),
                level=level,
                source=source,
                asks=asks,
                specialty=str(raw["specialty"]) if raw.get("specialty") else None,
                when=compiler.compile(raw["when"]),
                plausible_when=compiler.compile(plausible) if plausible is not None else None,
            )
        )
    compiler.rule_id = "define"
    for name in compiler.defines:  # an unused definition must still be valid
        compiler.compile({"ref": name})
    return tuple(sorted(rules, key=lambda rule: rule.level))


def _askable(kb: KnowledgeBase, view: _CaseView, evidence_id: str) -> str | None:
    """Return the question to ask for ``evidence_id`` now.

    That is the id itself, or its unanswered parent that must come first, or None when it is
    answered or its parent was answered no (the question no longer applies).
    """
    current = evidence_id
    for _ in range(8):  # parent chains are one or two deep; the bound guards against cycles
        if view.answered(current):
            return None
        evidence = kb.evidences.get(current)
        parent = evidence.parent if evidence else None
        if parent is None:
            return current
        if view.answered(parent):
            return current if view.present(parent) else None
        current = parent
    return current


@dataclass(frozen=True)
class RedFlagEvaluation:
    """Every rule evaluated once for one case."""

    fired: tuple[tuple[RedFlagRule, tuple[str, ...]], ...]
    """Rules that fire, most urgent first, each with the evidence ids that made it fire."""
    pending: tuple[tuple[str, Urgency], ...]
    """Questions of plausible rules that have not fired, most urgent rule first."""
    missing: tuple[str, ...]
    """The pending questions that belong to an emergency-level rule."""

    def flags(self, language: Language) -> tuple[FiredFlag, ...]:
        """Return the fired rules with their texts in ``language``."""
        return tuple(
            FiredFlag(
                id=rule.id,
                name=rule.name[language],
                reason=rule.reason[language],
                level=rule.level,
                evidence_ids=tuple(dict.fromkeys(ids)),
                source=rule.source,
            )
            for rule, ids in self.fired
        )


# One interview turn asks for the flags, the pending questions and the decision of the same
# case; remembering the last evaluation per knowledge version makes that one pass, not four.
_LAST_EVALUATION: dict[str, tuple[Case, RedFlagEvaluation]] = {}


def evaluate(kb: KnowledgeBase, case: Case) -> RedFlagEvaluation:
    """Evaluate every rule of ``kb`` once for ``case``."""
    last = _LAST_EVALUATION.get(kb.version)
    if last is not None and (last[0] is case or last[0] == case):
        return last[1]
    view = _CaseView(case)
    fired: list[tuple[RedFlagRule, tuple[str, ...]]] = []
    pending: dict[str, Urgency] = {}
    missing: dict[str, None] = {}
    for rule in kb.red_flag_rules:  # compiled once per knowledge version, most urgent first
        ids = rule.fires(view)
        if ids is not None:
            fired.append((rule, ids))
            continue
        if not rule.asks or not rule.is_plausible(view):
            continue
        for evidence_id in rule.asks:
            askable = _askable(kb, view, evidence_id)
            if askable is None:
                continue
            pending.setdefault(askable, rule.level)
            if rule.level.is_emergency:
                missing[askable] = None
    evaluation = RedFlagEvaluation(
        fired=tuple(fired), pending=tuple(pending.items()), missing=tuple(missing)
    )
    _LAST_EVALUATION[kb.version] = (case, evaluation)
    return evaluation


def fired_flags(kb: KnowledgeBase, case: Case, language: Language) -> tuple[FiredFlag, ...]:
    """Return every rule that fires for ``case``, most urgent first, in ``language``."""
    return evaluate(kb, case).flags(language)


def pending_red_flag_questions(kb: KnowledgeBase, case: Case) -> tuple[tuple[str, Urgency], ...]:
    """Return the unasked questions of plausible red-flag rules that have not fired.

    Most urgent rule first, each with the level of the rule that wants it, no duplicates.
    When a question depends on an unanswered parent question, the parent is returned instead.
    """
    return evaluate(kb, case).pending


def missing_on_dangerous_branch(kb: KnowledgeBase, case: Case) -> tuple[str, ...]:
    """Return the unanswered questions of plausible emergency rules that have not fired.

    While they are open the decision escalates rather than guess low.
    """
    return evaluate(kb, case).missing
