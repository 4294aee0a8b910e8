"""Free text to evidence: what the patient said, as answers the engine can use.

Patients do not speak in evidence ids. They say "my tummy hurts and I can't catch my breath",
"j'ai mal au ventre depuis hier, pas de fièvre" or, to a question just asked, "yeah, about a
seven". This module turns such text (typed, or from speech recognition) into ``Answer``s with
the code-point spans they came from, so the conversation can skip questions already answered
and the red-flag rules see what was said.

How patients say things is data, not code: ``knowledge/lexicon/{en,fr}.yaml`` (their header
comment documents the format). This module only knows the *kinds* of entries:

- ``terms``: phrases that state an evidence ("short of breath" -> E_66, "no urine for 12
  hours" -> VA_no_urine_12h, "non-smoker" -> E_79 denied), some only beside another finding
  (``requires``); ``anchors``: words that say *something hurts* (or itches, is swollen) and to
  which body ``sites`` nearby attach ("pain ... chest" -> E_55 chest; after a ``radiation`` cue
  such as "spreading to" the site is where the pain radiates, E_57), and what denying them
  also denies ("no tummy pain" -> no severe tummy pain);
  ``modifiers``: intensity and onset words that only count next to an anchor ("severe",
  "suddenly");
- ``measurements``: numbers with context ("temperature 39.2", "7 out of 10", "pulse 140"),
  converted (Fahrenheit, mg/dL) and turned into evidence by thresholds (39.2 degrees is also a
  fever, E_91);
- ``age`` and ``sex`` ("a 64-year-old man", "my 2 month old daughter", "she is 8");
- ``negation`` cues ("no", "denies", "sans", "je n'ai pas de"), whose scope is a few words up
  to a ``clause_boundaries`` word or punctuation ("but", "mais", a comma); ``hedges`` ("I
  think", "maybe") that lower the confidence; ``short_answers`` ("yep", "pas vraiment", "I
  don't know") read as the answer to the question just asked;
- ``combinations``: evidence implied by evidence found together anywhere in the text (chest pain
  with exertion -> VA_chest_pain_exertional; chest pain with sweating denied -> not sweating
  with it).

Speed: each rule carries the words one of which a text must contain for it to match (computed
from its phrases); a rule none of whose words the text contains is skipped without running its
regex, which keeps a sentence at a few milliseconds with several hundred rules.

Matching is accent- and case-insensitive on a normalised copy of the text; every span is mapped
back to code points of the original text. Each lexicon is compiled once per knowledge base and
validated against it: an unknown evidence or value id is a ``KnowledgeError``.

Clinical safety: when a statement is both affirmed and denied in one text ("no pain ... my belly
hurts"), the affirmation wins; a denial of one *kind* of pain ("no chest pain") is reported with
low confidence as "no pain", since the patient may still have pain elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voiceassist_triage.domain.case import Answer, Language, Sex
from voiceassist_triage.domain.knowledge import (
    EvidenceDef,
    EvidenceKind,
    KnowledgeBase,
    KnowledgeError,
)
from voiceassist_triage.domain.results import ParsedEvidence, ParseResult, StatedDuration

__all__ = ["Lexicon", "compile_lexicon", "detect_language", "normalise", "parse_text"]

Span = tuple[int, int]

# --------------------------------------------------------------------------------------------
# Normalisation: lower case, no accents, one kind of apostrophe; hyphens become spaces so that
# "64-year-old" and "quatre-vingt" match word by word. ``index[i]`` is the code point of the
# original text that produced normalised character ``i``.

_REPLACEMENTS = {
    "œ": "oe",
    "Œ": "oe",
    "æ": "ae",
    "Æ": "ae",
    "ß": "ss",
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "`": "'",
    "\u00b4": "'",
    "-": " ",
    "\u2010": " ",
    "\u2011": " ",
    "\u2013": " ",
    "\u2014": " ",
    "\u00a0": " ",
    "\u202f": " ",
    "º": "°",
}


def normalise(text: str) -> tuple[str, list[int]]:
    """Return the matching form of ``text`` and the original index of each of its characters.

    The index list has one extra entry at the end, ``len(text)``.
    """
    if text.isascii():
        return text.lower().replace("-", " ").replace("`", "'"), [*range(len(text) + 1)]
    chars: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        replaced = _REPLACEMENTS.get(char, char).lower()
        for part in unicodedata.normalize("NFD", replaced):
            if unicodedata.combining(part):
                continue
            chars.append(part)
            index.append(position)
    index.append(len(text))
    return "".join(chars), index


def _normalise_phrase(phrase: str) -> str:
    return " ".join(normalise(phrase)[0].split())


# --------------------------------------------------------------------------------------------
# Language detection: stop words and accents. Short answers decide on their own words ("oui",
# "non", "pas vraiment"); otherwise whichever language has more function-word hits wins, with
# accented letters and French elisions (j', l', n', qu') counting for French. Ties go to
# English, the default language of the product.

_EN_WORDS = frozenset(
    "the a an and or but is are was were be been i i'm im my me you your he she it its his "  # noqa: SIM905 - a word list reads best as text
    "her they them of to in on at with for from have has had having do does did don't "
    "doesn't didn't can't cannot not no yes yeah yep nope this that since ago hours days "
    "weeks pain hurts hurt ache feel feeling like really very also just about when after "
    "before got get am being there what who how out up down left right chest tummy belly "
    "head throat breath breathe fever cough sick one two three four five seven eight nine "
    "ten".split()
)
_FR_WORDS = frozenset(
    "le la les un une des de du et ou mais est sont etait suis ai as avons avez ont je tu "  # noqa: SIM905 - a word list reads best as text
    "il elle nous vous ils elles mon ma mes ton ta tes son sa ses ce cette ces que qui "
    "quoi pas ne plus dans pour avec sur sous au aux depuis tres mal tete ventre gorge "
    "fievre toux oui non ouais bien peu beaucoup hier aujourd'hui jours heures semaine "
    "j'ai c'est ca moi toi lui leur y en vraiment rien jamais aucun aucune sans douleur "
    "respirer poitrine bebe enfant fille fils femme homme ans mois deux trois quatre cinq "
    "sept huit neuf dix si ouai nan".split()
)
_FR_ELISION = re.compile(r"\b(?:j|l|d|n|qu|c|s|m|t)'[a-z]")
_WORD = re.compile(r"[\w']+")


def detect_language(text: str) -> Language:
    """English or French, from stop words, elisions and accents (ties: English)."""
    normalised = normalise(text)[0]
    words = _WORD.findall(normalised)
    english = sum(1 for word in words if word in _EN_WORDS)
    french = sum(1 for word in words if word in _FR_WORDS)
    french += len(_FR_ELISION.findall(normalised))
    french += sum(1 for char in text if char in "éèêëàâçîïôûùœÉÈÊÀÇ")
    return Language.FR if french > english else Language.EN


# --------------------------------------------------------------------------------------------
# Phrase patterns. A lexicon phrase is words separated by spaces, plus:
#   (a|b c)  one of the alternatives       [a|b] or (a|b)?  optional
#   {n}      a number, in digits or words  ...    up to three words of anything
# A word must match a whole word ("pain" does not match "painting"); an apostrophe inside a
# word is optional ("can't" also matches "cant"), one ending a word is required (French "n'").

_TOKEN = re.compile(r"\{n\}|\.\.\.|(?<=\))\?|[()\[\]|]|\s+|[^\s()\[\]|{}]+")
_GAP = r"(?:[\w']+\s+){0,3}?"


@dataclass
class _Parser:
    """Recursive descent over one phrase's tokens."""

    tokens: list[str]
    number: str
    phrase: str
    prefix: int
    position: int = 0
    numbers: int = 0

    def sequence(self, closing: str | None) -> str:
        items: list[tuple[str, bool]] = []  # (regex, carries its own trailing space)
        while self.position < len(self.tokens):
            piece = self.tokens[self.position]
            if piece in (")", "]", "|"):
                break
            self.position += 1
            if piece.isspace():
                continue
            if piece == "(":
                group = self.alternatives(")")
                if self.position < len(self.tokens) and self.tokens[self.position] == "?":
                    self.position += 1  # "(a|b)?" is "[a|b]"
                    items.append((f"(?:(?:{group})\\s*)?", True))
                else:
                    items.append((f"(?:{group})", False))
            elif piece == "[":
                items.append((f"(?:(?:{self.alternatives(']')})\\s*)?", True))
            elif piece == "{n}":
                self.numbers += 1
                items.append((f"(?P<n{self.prefix}_{self.numbers}>{self.number})", False))
            elif piece == "...":
                items.append((_GAP, True))
            else:
                items.append((_word(piece), False))
        if closing is None and self.position < len(self.tokens):
            raise KnowledgeError(f"unbalanced brackets in lexicon phrase {self.phrase!r}")
        parts: list[str] = []
        for position, (regex, own_space) in enumerate(items):
            parts.append(regex)
            if position < len(items) - 1 and not own_space:
                parts.append(r"\s*")
        return "".join(parts)

    def alternatives(self, closing: str) -> str:
        options = [self.sequence(closing)]
        while self.position < len(self.tokens) and self.tokens[self.position] == "|":
            self.position += 1
            options.append(self.sequence(closing))
        if self.position >= len(self.tokens) or self.tokens[self.position] != closing:
            raise KnowledgeError(f"unbalanced brackets in lexicon phrase {self.phrase!r}")
        self.position += 1
        return "|".join(options)


def _word(word: str) -> str:
    body = ""
    for position, char in enumerate(word):
        if char == "'" and 0 < position < len(word) - 1:
            body += "'?"
        else:
            body += re.escape(char)
    before = r"(?<![^\W\d_])" if word[0].isalpha() else (r"(?<!\d)" if word[0].isdigit() else "")
    after = r"(?![^\W\d_])" if word[-1].isalpha() else (r"(?!\d)" if word[-1].isdigit() else "")
    return before + body + after


def _compile_phrases(phrases: Iterable[str], number: str, where: str) -> re.Pattern[str]:
    regexes: list[str] = []
    for count, phrase in enumerate(phrases):
        normalised = _normalise_phrase(str(phrase))
        if not normalised:
            raise KnowledgeError(f"{where}: empty phrase")
        # Group names must be unique across the alternatives of one pattern: hence the prefix.
        regexes.append(
            _Parser(_TOKEN.findall(normalised), number, str(phrase), count).sequence(None)
        )
    if not regexes:
        raise KnowledgeError(f"{where}: no phrases")
    # Longer alternatives first: at one position the regex takes the first that matches.
    regexes.sort(key=len, reverse=True)
    try:
        return re.compile("|".join(f"(?:{r})" for r in regexes))
    except re.error as error:
        raise KnowledgeError(f"{where}: cannot compile phrases: {error}") from error


def _triggers(phrases: Iterable[str]) -> frozenset[str] | None:
    """Return words one of which a text must contain for any of ``phrases`` to match it.

    None when some phrase can match without a literal word ("{n} /10").

    A cheap, exact prefilter: most rules need words absent from a given sentence, and a set
    intersection is far cheaper than running their regex over the text. Per phrase we keep
    the words of one mandatory part (the one with the rarest words: "breath" rather than
    "my"). Each word is keyed both with its apostrophes dropped and by its part before the
    first apostrophe, matching the text's letter runs whether "can't" was typed with its
    apostrophe or not.
    """
    words: set[str] = set()
    for phrase in phrases:
        tokens = _TOKEN.findall(_normalise_phrase(str(phrase)))
        needed = _needed_words(tokens, 0)[0]
        if needed is None:
            return None
        words |= needed
    return frozenset(words)


# Function words make poor triggers: nearly every sentence has them.
_COMMON = frozenset(
    "a an the i i'm im my me you your he she it its his her him they them we our of to in on "  # noqa: SIM905 - a word list reads best as text
    "at by for with and or is are was were be been am have has had do does did not no can "
    "cant don dont t s m d ll re ve that this so up out all get got go going just very "
    "je j l n d qu c s m t le la les un une des de du et ou est sont ai as a au aux pas ne "
    "plus me ma mon mes il elle y en se sa son ses ce ca tres que qui".split()
)


def _cost(words: frozenset[str]) -> int:
    return sum(50 if w in _COMMON or len(w) < 3 else 1 for w in words)


def _needed_words(tokens: Sequence[str], position: int) -> tuple[frozenset[str] | None, int]:
    """Return words one of which every match of these pieces contains, and where they end.

    The words are None when no literal word is needed; the grammar is ``_Parser``'s.
    """
    best: frozenset[str] | None = None
    while position < len(tokens):
        piece = tokens[position]
        if piece in (")", "]", "|"):
            break
        position += 1
        if piece.isspace() or piece in ("{n}", "..."):
            continue
        needed: frozenset[str] | None
        if piece in ("(", "["):
            union: set[str] = set()
            complete = True
            while True:
                option, position = _needed_words(tokens, position)
                if option is None:
                    complete = False
                else:
                    union |= option
                if position < len(tokens) and tokens[position] == "|":
                    position += 1
                    continue
                position += 1  # the closing bracket (balance was checked by _Parser)
                break
            optional = piece == "[" or (position < len(tokens) and tokens[position] == "?")
            if piece == "(" and optional:
                position += 1  # the "?" of "(a|b)?"
            # An optional part is never needed; a group is needed when every option is.
            needed = frozenset(union) if complete and not optional else None
        else:
            chunks = [chunk for chunk in piece.split("'") if chunk]
            alphabetic = bool(chunks) and all(chunk.isalpha() for chunk in chunks)
            needed = frozenset(("".join(chunks), chunks[0])) if alphabetic else None
        if needed is not None and (best is None or _cost(needed) < _cost(best)):
            best = needed
    return best, position


_LETTERS = re.compile(r"[^\W\d_]+")


def _first_number(match: re.Match[str]) -> str | None:
    for name, value in match.groupdict().items():
        if name.startswith("n") and value is not None:
            return value
    return None


# --------------------------------------------------------------------------------------------
# Numbers in words ("thirty nine point two", "soixante-quatre", "sept") and digits ("39,2").


@dataclass(frozen=True)
class _Numbers:
    regex: str
    words: Mapping[str, float]
    hundreds: frozenset[str]
    decimal: frozenset[str]
    joiners: frozenset[str]

    def value(self, text: str) -> float | None:
        """Return the value of a number matched by ``regex``."""
        compact = text.strip()
        digits = compact.replace(",", ".")
        try:
            return float(digits)
        except ValueError:
            pass
        words = compact.split()
        integer: list[str] = []
        fraction: list[str] = []
        target = integer
        for word in words:
            if word in self.decimal:
                target = fraction
            elif word not in self.joiners:
                target.append(word)
        whole = self._integer(integer)
        if whole is None:
            return None
        if fraction:
            digits_after = "".join(
                str(int(self.words[w])) if w in self.words else w for w in fraction
            )
            try:
                return float(f"{int(whole)}.{digits_after}")
            except ValueError:
                return whole
        return whole

    def _integer(self, words: Sequence[str]) -> float | None:
        total = 0.0
        current = 0.0
        index = 0
        while index < len(words):
            # Longest known phrase first ("quatre vingt dix" before "quatre").
            for length in range(min(4, len(words) - index), 0, -1):
                phrase = " ".join(words[index : index + length])
                if phrase in self.words or phrase in self.hundreds:
                    break
            else:
                if words[index].replace(".", "").isdigit():
                    current += float(words[index])
                    index += 1
                    continue
                return None
            if phrase in self.hundreds:
                current = (current or 1.0) * 100.0
                total += current
                current = 0.0
            else:
                current += self.words[phrase]
            index += length
        return total + current


def _numbers(raw: Mapping[str, Any], where: str) -> _Numbers:
    units = {_normalise_phrase(k): float(v) for k, v in (raw.get("units") or {}).items()}
    teens = {_normalise_phrase(k): float(v) for k, v in (raw.get("teens") or {}).items()}
    tens = {_normalise_phrase(k): float(v) for k, v in (raw.get("tens") or {}).items()}
    hundreds = frozenset(_normalise_phrase(k) for k in raw.get("hundreds") or [])
    decimal = frozenset(_normalise_phrase(k) for k in raw.get("decimal") or [])
    joiners = frozenset(_normalise_phrase(k) for k in raw.get("joiners") or [])
    if not units:
        raise KnowledgeError(f"{where}: numbers.units is empty")

    def alternation(words: Iterable[str]) -> str:
        ordered = sorted(words, key=len, reverse=True)
        return "|".join(r"\s+".join(re.escape(p) for p in w.split()) for w in ordered)

    unit = alternation(units)
    small = alternation([*teens, *units])
    join = f"(?:(?:{alternation(joiners)})\\s+)?" if joiners else ""
    rest = f"(?:(?:{alternation(tens)})(?:\\s+{join}(?:{small}))?|{small})" if tens else small
    word_number = rest
    if hundreds:
        hundred = alternation(hundreds)
        word_number = f"(?:(?:{unit})\\s+)?(?:{hundred})(?:\\s+{join}{rest})?|{rest}"
    decimals = f"(?:\\s+(?:{alternation(decimal)})\\s+(?:{unit}|\\d))?" if decimal else ""
    regex = (
        r"(?<![\w.,])\d{1,3}(?:[.,]\d{1,2})?(?![\d\w])"
        r"|(?<![\w.,])\d{1,3}(?:[.,]\d{1,2})?(?=[a-z°%/])"
        f"|(?<![^\\W\\d_])(?:{word_number}){decimals}(?![^\\W\\d_])"
    )
    return _Numbers(
        regex=regex,
        words={**units, **teens, **tens},
        hundreds=hundreds,
        decimal=decimal,
        joiners=joiners,
    )


# --------------------------------------------------------------------------------------------
# The compiled lexicon.


@dataclass(frozen=True)
class _Rule:
    """One ``terms``, ``anchors`` or ``modifiers`` entry."""

    regex: re.Pattern[str]
    answers: tuple[Answer, ...]
    order: int
    triggers: frozenset[str] | None = None
    """Words one of which the text must contain to be searched (None: always search)."""
    confidence: float = 1.0
    anchors: str | None = None
    """Evidence that body sites near this phrase are values of (E_55 for pain)."""
    needs_anchor: str | None = None
    """Only counts when an affirmed anchor for this evidence is in the same clause."""
    min_hours: float | None = None
    """Only counts when the clause gives a duration of at least this many hours."""
    min_number: float | None = None
    """For phrases with {n}: only counts when the number is at least this."""
    requires: frozenset[str] = frozenset()
    """Only counts when one of these evidences is affirmed elsewhere in the text ("I have a
    plan" states suicidal intent only when suicidal thoughts were said)."""
    denies: tuple[str, ...] = ()
    """For anchors: yes/no evidence that a denial with no site ("no pain") also denies
    (no pain at all is no severe tummy pain)."""


@dataclass(frozen=True)
class _Site:
    regex: re.Pattern[str]
    values: tuple[str, ...]
    left: tuple[str, ...]
    right: tuple[str, ...]
    order: int
    triggers: frozenset[str] | None = None
    denies: tuple[str, ...] = ()
    """Yes/no evidence denied when pain at this site is denied ("no tummy pain")."""


@dataclass(frozen=True)
class _Implication:
    evidence: str
    at_least: float | None
    below: float | None


@dataclass(frozen=True)
class _Measurement:
    regex: re.Pattern[str]
    evidence: str | None
    low: float
    high: float
    order: int
    convert_above: float | None = None
    convert_offset: float = 0.0
    convert_scale: float = 1.0
    implies: tuple[_Implication, ...] = ()
    confidence: float = 1.0
    triggers: frozenset[str] | None = None

    def convert(self, raw: float) -> float:
        if self.convert_above is not None and raw > self.convert_above:
            return round((raw + self.convert_offset) * self.convert_scale, 1)
        return raw


@dataclass(frozen=True)
class _AgeRule:
    regex: re.Pattern[str]
    years_per_unit: float
    order: int
    fixed: float | None = None
    triggers: frozenset[str] | None = None


@dataclass(frozen=True)
class _Condition:
    evidence: str
    values: frozenset[str] | None
    at_least: float | None
    denied: bool = False
    """The evidence must have been denied ("no bleeding") rather than affirmed."""


@dataclass(frozen=True)
class _Combination:
    then: Answer
    conditions: tuple[_Condition, ...]


_YEARS_PER_UNIT = {"years": 1.0, "months": 1 / 12, "weeks": 7 / 365.25, "days": 1 / 365.25}


@dataclass(frozen=True)
class Lexicon:
    """One language's lexicon, compiled and checked against the knowledge base."""

    language: Language
    numbers: _Numbers
    number_regex: re.Pattern[str]
    terms: tuple[_Rule, ...]
    dependent_terms: tuple[_Rule, ...]
    """Terms with ``requires``: their overlaps are resolved among themselves, so that one
    that does not apply takes no words away from the others."""
    anchors: tuple[_Rule, ...]
    modifiers: tuple[_Rule, ...]
    sites: tuple[_Site, ...]
    radiation: re.Pattern[str] | None
    radiation_evidence: str | None
    measurements: tuple[_Measurement, ...]
    ages: tuple[_AgeRule, ...]
    age_blockers: re.Pattern[str] | None
    sex: tuple[tuple[re.Pattern[str], Sex, bool], ...]
    """(pattern, sex, strong): nouns are strong, pronouns weak."""
    negation_before: re.Pattern[str] | None
    negation_after: re.Pattern[str] | None
    pseudo_negation: re.Pattern[str] | None
    negation_window: int
    hedges: re.Pattern[str] | None
    hedge_confidence: float
    boundaries: re.Pattern[str]
    durations: re.Pattern[str] | None
    duration_units: Mapping[str, float]
    duration_phrases: tuple[tuple[re.Pattern[str], float], ...]
    left: re.Pattern[str] | None
    right: re.Pattern[str] | None
    side_ignored: re.Pattern[str] | None
    """Phrases where "left"/"right" is not a side ("right now", "left school")."""
    short_yes: tuple[tuple[re.Pattern[str], float], ...]
    short_no: tuple[tuple[re.Pattern[str], float], ...]
    short_unknown: re.Pattern[str] | None
    fillers: str
    continuations: str
    combinations: tuple[_Combination, ...]
    value_texts: Mapping[str, tuple[tuple[re.Pattern[str], str, str | None], ...]] = field(
        default_factory=dict
    )
    """Per categorical/multi evidence: (pattern, value id, side) from the knowledge base's
    own value texts, for short answers to that question."""


class _Checker:
    """Validates lexicon references against the knowledge base."""

    def __init__(self, kb: KnowledgeBase, where: str) -> None:
        self.kb = kb
        self.where = where

    def evidence(self, evidence_id: str, context: str) -> EvidenceDef:
        if evidence_id not in self.kb.evidences:
            raise KnowledgeError(f"{self.where} {context}: unknown evidence id {evidence_id!r}")
        return self.kb.evidences[evidence_id]

    def answer(self, spec: Any, context: str) -> Answer:
        """Read ``E_91`` (yes), ``E_91=no``, ``E_55=V_187`` (a value) or ``E_56=8`` (a scale).

        ``E_91=no`` is for a phrase that itself states an absence ("non-smoker").
        """
        text = str(spec).strip()
        evidence_id, _, raw_value = text.partition("=")
        evidence = self.evidence(evidence_id.strip(), context)
        raw_value = raw_value.strip()
        if not raw_value:
            if evidence.kind is not EvidenceKind.BINARY:
                raise KnowledgeError(
                    f"{self.where} {context}: {evidence.id} is {evidence.kind.value}; "
                    "give a value (ID=VALUE)"
                )
            return Answer(evidence.id, True)
        if evidence.kind is EvidenceKind.BINARY:
            if raw_value.lower() in {"true", "yes"}:
                return Answer(evidence.id, True)
            if raw_value.lower() in {"false", "no"}:
                return Answer(evidence.id, False)
            raise KnowledgeError(f"{self.where} {context}: {evidence.id} is yes/no, not {text!r}")
        if evidence.scale is not None:
            try:
                number = float(raw_value)
            except ValueError:
                raise KnowledgeError(
                    f"{self.where} {context}: {evidence.id} takes a number, not {raw_value!r}"
                ) from None
            if not evidence.scale[0] <= number <= evidence.scale[1]:
                raise KnowledgeError(f"{self.where} {context}: {number} is outside {evidence.id}")
            return Answer(evidence.id, number)
        if evidence.value(raw_value) is None:
            raise KnowledgeError(
                f"{self.where} {context}: {evidence.id} has no value {raw_value!r}"
            )
        return Answer(evidence.id, raw_value)

    def binary_ids(self, ids: Any, context: str) -> tuple[str, ...]:
        """Yes/no evidence ids (for ``denies``)."""
        out = tuple(str(i) for i in _as_list(ids))
        for evidence_id in out:
            if self.evidence(evidence_id, context).kind is not EvidenceKind.BINARY:
                raise KnowledgeError(f"{self.where} {context}: {evidence_id} is not yes/no")
        return out

    def value_ids(self, values: Any, evidence_ids: Sequence[str], context: str) -> tuple[str, ...]:
        ids = tuple(str(v) for v in (values or []))
        for value_id in ids:
            if not any(self.kb.evidences[e].value(value_id) for e in evidence_ids):
                raise KnowledgeError(
                    f"{self.where} {context}: {value_id!r} is not a value of {list(evidence_ids)}"
                )
        return ids


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list | tuple) else [raw]


def _optional_phrases(
    raw: Any, number: str, where: str, *, anchored: bool = False
) -> re.Pattern[str] | None:
    phrases = _as_list(raw)
    if not phrases:
        return None
    pattern = _compile_phrases(phrases, number, where)
    # No "^": Pattern.match(text, pos) already anchors at pos, and "^" only matches at 0.
    return re.compile(rf"\s*(?:{pattern.pattern})") if anchored else pattern


def compile_lexicon(kb: KnowledgeBase, language: Language) -> Lexicon:
    """Compile ``lexicon/<language>.yaml`` of ``kb``; KnowledgeError names any bad entry."""
    where = f"lexicon/{language.value}.yaml"
    raw = kb.documents.get(f"lexicon_{language.value}")
    if not isinstance(raw, Mapping):
        raise KnowledgeError(f"{where} is missing or is not a mapping")
    check = _Checker(kb, where)
    numbers = _numbers(raw.get("numbers") or {}, where)
    number = numbers.regex

    def rules(section: str, default_anchor: str | None = None) -> tuple[_Rule, ...]:
        compiled: list[_Rule] = []
        for order, entry in enumerate(raw.get(section) or []):
            context = f"{section}[{order}]"
            answers = tuple(check.answer(a, context) for a in _as_list(entry.get("evidence")))
            anchors = entry.get("anchors", default_anchor if answers else None)
            needs = entry.get("needs_anchor")
            for evidence_id in (anchors, needs):
                if evidence_id:
                    check.evidence(str(evidence_id), context)
            requires = frozenset(str(e) for e in _as_list(entry.get("requires")))
            for evidence_id in requires:
                check.evidence(evidence_id, context)
            compiled.append(
                _Rule(
                    regex=_compile_phrases(_as_list(entry.get("phrases")), number, context),
                    answers=answers,
                    order=order,
                    confidence=float(entry.get("confidence", 1.0)),
                    anchors=str(anchors) if anchors else None,
                    needs_anchor=str(needs) if needs else None,
                    min_hours=_float_or_none(entry.get("min_hours")),
                    min_number=_float_or_none(entry.get("min_number")),
                    requires=requires,
                    triggers=_triggers(_as_list(entry.get("phrases"))),
                    denies=check.binary_ids(entry.get("denies"), context),
                )
            )
        return tuple(compiled)

    site_evidences = [e for e in ("E_55", "E_57", "E_133", "E_152") if e in kb.evidences] or list(
        kb.evidences
    )
    sites = tuple(
        _Site(
            regex=_compile_phrases(_as_list(entry.get("phrases")), number, f"sites[{order}]"),
            values=check.value_ids(entry.get("values"), site_evidences, f"sites[{order}]"),
            left=check.value_ids(entry.get("left"), site_evidences, f"sites[{order}]"),
            right=check.value_ids(entry.get("right"), site_evidences, f"sites[{order}]"),
            order=order,
            triggers=_triggers(_as_list(entry.get("phrases"))),
            denies=check.binary_ids(entry.get("denies"), f"sites[{order}]"),
        )
        for order, entry in enumerate(raw.get("sites") or [])
    )
    radiation_raw = raw.get("radiation") or {}
    radiation_evidence = radiation_raw.get("evidence")
    if radiation_evidence:
        check.evidence(str(radiation_evidence), "radiation")

    measurements: list[_Measurement] = []
    for order, entry in enumerate(raw.get("measurements") or []):
        context = f"measurements[{order}]"
        evidence_id = entry.get("evidence")
        low, high = (float(x) for x in entry.get("range", [float("-inf"), float("inf")]))
        if evidence_id:
            evidence = check.evidence(str(evidence_id), context)
            if evidence.kind is EvidenceKind.BINARY or (
                evidence.kind is not EvidenceKind.NUMBER and evidence.scale is None
            ):
                raise KnowledgeError(f"{where} {context}: {evidence_id} does not take a number")
            if evidence.scale is not None:
                low, high = evidence.scale
        convert = entry.get("convert") or {}
        implies = []
        for implied in _as_list(entry.get("implies")):
            implied_evidence = check.evidence(str(implied["evidence"]), context)
            if implied_evidence.kind is not EvidenceKind.BINARY:
                raise KnowledgeError(f"{where} {context}: {implied_evidence.id} is not yes/no")
            implies.append(
                _Implication(
                    evidence=implied_evidence.id,
                    at_least=_float_or_none(implied.get("at_least")),
                    below=_float_or_none(implied.get("below")),
                )
            )
        measurements.append(
            _Measurement(
                regex=_compile_phrases(_as_list(entry.get("phrases")), number, context),
                evidence=str(evidence_id) if evidence_id else None,
                low=low,
                high=high,
                order=order,
                convert_above=_float_or_none(convert.get("above")),
                convert_offset=float(convert.get("offset", 0.0)),
                convert_scale=float(convert.get("scale", 1.0)),
                implies=tuple(implies),
                confidence=float(entry.get("confidence", 1.0)),
                triggers=_triggers(_as_list(entry.get("phrases"))),
            )
        )

    age_raw = raw.get("age") or {}
    ages: list[_AgeRule] = []
    for order, entry in enumerate(age_raw.get("patterns") or []):
        unit = str(entry.get("unit", "years"))
        if unit not in _YEARS_PER_UNIT:
            raise KnowledgeError(f"{where} age.patterns[{order}]: unknown unit {unit!r}")
        ages.append(
            _AgeRule(
                regex=_compile_phrases(_as_list(entry.get("phrases")), number, "age"),
                years_per_unit=_YEARS_PER_UNIT[unit],
                order=order,
                fixed=_float_or_none(entry.get("years")),
                triggers=_triggers(_as_list(entry.get("phrases"))),
            )
        )
    blockers = _as_list(age_raw.get("not_followed_by"))
    sex_raw = raw.get("sex") or {}
    sex_rules: list[tuple[re.Pattern[str], Sex, bool]] = []
    for key, sex, strong in (
        ("female", Sex.FEMALE, True),
        ("male", Sex.MALE, True),
        ("female_pronouns", Sex.FEMALE, False),
        ("male_pronouns", Sex.MALE, False),
    ):
        pattern = _optional_phrases(sex_raw.get(key), number, f"{where} sex.{key}")
        if pattern is not None:
            sex_rules.append((pattern, sex, strong))

    negation = raw.get("negation") or {}
    boundaries_raw = raw.get("clause_boundaries") or {}
    punctuation = str(boundaries_raw.get("punctuation", ",;.!?"))
    boundary_words = _optional_phrases(boundaries_raw.get("words"), number, "clause_boundaries")
    boundary_parts = [r"\n"]
    if punctuation:
        # A comma or full stop between digits is a decimal separator, not a clause boundary.
        boundary_parts.append(
            rf"(?<!\d)[{re.escape(punctuation)}]|[{re.escape(punctuation)}](?!\d)"
        )
    if boundary_words is not None:
        boundary_parts.append(boundary_words.pattern)

    durations_raw = raw.get("durations") or {}
    duration_units = {
        _normalise_phrase(k): float(v) for k, v in (durations_raw.get("units") or {}).items()
    }
    durations = None
    if duration_units:
        unit_alternation = "|".join(
            _word(u) if " " not in u else r"\s+".join(_word(p) for p in u.split())
            for u in sorted(duration_units, key=len, reverse=True)
        )
        one = "|".join(_word(_normalise_phrase(w)) for w in _as_list(durations_raw.get("one")))
        one_part = f"|(?P<one>{one})" if one else ""
        durations = re.compile(f"(?:(?P<n>{number}){one_part})\\s*(?P<unit>{unit_alternation})")
    duration_phrases = tuple(
        (_compile_phrases([phrase], number, "durations.phrases"), float(hours))
        for phrase, hours in (durations_raw.get("phrases") or {}).items()
    )
    sides = raw.get("sides") or {}
    short = raw.get("short_answers") or {}

    def weighted(key: str) -> tuple[tuple[re.Pattern[str], float], ...]:
        # YAML 1.1 reads an unquoted key yes/no as a boolean: accept both spellings.
        entries = short.get(key, short.get(key == "yes"))
        out = []
        for item in _as_list(entries):
            phrases, confidence = (
                (item.get("phrases"), float(item.get("confidence", 1.0)))
                if isinstance(item, Mapping)
                else ([item], 1.0)
            )
            out.append(
                (_compile_phrases(_as_list(phrases), number, f"short_answers.{key}"), confidence)
            )
        return tuple(out)

    fillers = "|".join(
        _word(_normalise_phrase(w)) for w in _as_list(short.get("fillers")) if str(w).strip()
    )
    continuations = "|".join(
        _word(_normalise_phrase(w)) for w in _as_list(short.get("continuations")) if str(w).strip()
    )

    combinations: list[_Combination] = []
    for order, entry in enumerate(raw.get("combinations") or []):
        context = f"combinations[{order}]"
        conditions = []
        for condition in _as_list(entry.get("all")):
            evidence = check.evidence(str(condition["evidence"]), context)
            values = condition.get("values")
            conditions.append(
                _Condition(
                    evidence=evidence.id,
                    values=(
                        frozenset(check.value_ids(values, [evidence.id], context))
                        if values
                        else None
                    ),
                    at_least=_float_or_none(condition.get("at_least")),
                    denied=bool(condition.get("denied", False)),
                )
            )
        if not conditions:
            raise KnowledgeError(f"{where} {context}: no conditions")
        combinations.append(
            _Combination(then=check.answer(entry["then"], context), conditions=tuple(conditions))
        )

    all_terms = rules("terms")
    return Lexicon(
        language=language,
        numbers=numbers,
        number_regex=re.compile(number),
        terms=tuple(rule for rule in all_terms if not rule.requires),
        dependent_terms=tuple(rule for rule in all_terms if rule.requires),
        anchors=rules("anchors", default_anchor=str(raw.get("default_anchor", "E_55"))),
        modifiers=rules("modifiers"),
        sites=sites,
        radiation=_optional_phrases(radiation_raw.get("phrases"), number, "radiation"),
        radiation_evidence=str(radiation_evidence) if radiation_evidence else None,
        measurements=tuple(measurements),
        ages=tuple(ages),
        age_blockers=(
            re.compile(rf"\s*(?:{_compile_phrases(blockers, number, 'age').pattern})")
            if blockers
            else None
        ),
        sex=tuple(sex_rules),
        negation_before=_optional_phrases(negation.get("before"), number, "negation.before"),
        negation_after=_optional_phrases(negation.get("after"), number, "negation.after"),
        pseudo_negation=_optional_phrases(negation.get("pseudo"), number, "negation.pseudo"),
        negation_window=int(negation.get("window", 6)),
        hedges=_optional_phrases((raw.get("hedges") or {}).get("phrases"), number, "hedges"),
        hedge_confidence=float((raw.get("hedges") or {}).get("confidence", 0.7)),
        boundaries=re.compile("|".join(boundary_parts)),
        durations=durations,
        duration_units=duration_units,
        duration_phrases=duration_phrases,
        left=_optional_phrases(sides.get("left"), number, "sides.left"),
        right=_optional_phrases(sides.get("right"), number, "sides.right"),
        side_ignored=_optional_phrases(sides.get("ignore"), number, "sides.ignore"),
        short_yes=weighted("yes"),
        short_no=weighted("no"),
        short_unknown=_optional_phrases(short.get("unknown"), number, "short_answers.unknown"),
        fillers=fillers,
        continuations=continuations,
        combinations=tuple(combinations),
        value_texts=_value_texts(kb, language, raw),
    )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


_SIDE_MARK = re.compile(r"\(\s*([a-z])\s*\)\s*$")


def _value_texts(
    kb: KnowledgeBase, language: Language, raw: Mapping[str, Any]
) -> dict[str, tuple[tuple[re.Pattern[str], str, str | None], ...]]:
    """Return patterns for the knowledge base's own value texts, per evidence.

    "iliac fossa(R)" becomes "iliac fossa", right side: a short answer can name a choice the
    way the question listed it.
    """
    side_letters = {str(k): str(v) for k, v in (raw.get("side_letters") or {}).items()}
    out: dict[str, tuple[tuple[re.Pattern[str], str, str | None], ...]] = {}
    for evidence in kb.evidences.values():
        if evidence.kind not in (EvidenceKind.CATEGORICAL, EvidenceKind.MULTI) or evidence.is_scale:
            continue
        patterns = []
        for value in evidence.values:
            text = _normalise_phrase(value.text[language])
            side = None
            mark = _SIDE_MARK.search(text)
            if mark:
                side = side_letters.get(mark.group(1))
                text = text[: mark.start()].strip()
            text = re.sub(r"[()]", " ", text).strip()
            if len(text) < 2 or text in {"na", "n", "y", "o"}:
                continue
            words = r"\s+".join(re.escape(w) for w in text.split())
            patterns.append((re.compile(rf"(?<!\w){words}(?!\w)"), value.id, side))
        out[evidence.id] = tuple(patterns)
    return out


# One compiled lexicon per (knowledge base object, language). Knowledge bases are few (one per
# process, a handful in tests), so identity is the key and the entries are kept.
_LEXICONS: dict[tuple[int, Language], tuple[KnowledgeBase, Lexicon]] = {}


def lexicon_for(kb: KnowledgeBase, language: Language) -> Lexicon:
    """Return the compiled lexicon of ``kb`` for ``language`` (compiled on first use)."""
    key = (id(kb), language)
    cached = _LEXICONS.get(key)
    if cached is not None and cached[0] is kb:
        return cached[1]
    lexicon = compile_lexicon(kb, language)
    if len(_LEXICONS) > 16:
        _LEXICONS.clear()
    _LEXICONS[key] = (kb, lexicon)
    return lexicon


# --------------------------------------------------------------------------------------------
# Parsing.


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    rule: Any
    match: re.Match[str]

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class _Found:
    """One answer with where it came from, before merging."""

    answer: Answer
    spans: list[Span]
    negated: bool = False
    confidence: float = 1.0


class _Text:
    """The normalised text with its clauses."""

    def __init__(self, text: str, lexicon: Lexicon) -> None:
        self.original = text
        self.norm, self.index = normalise(text)
        self.boundaries = [
            (m.start(), m.end()) for m in lexicon.boundaries.finditer(self.norm) if m.end() > 0
        ]
        self.boundary_starts = [b[0] for b in self.boundaries]
        self.letters = frozenset(_LETTERS.findall(self.norm))
        """The text's letter runs, for the rules' word prefilter."""
        self.side_cues: list[tuple[int, int, str]] | None = None
        self.site_spans: list[Span] = []
        """Every body site said, so that a side word goes with the site nearest to it."""
        """("left"/"right" cues, found on first use: most texts name no side.)"""

    def clause(self, position: int) -> int:
        return bisect_right(self.boundary_starts, position)

    def same_clause(self, start: int, end: int) -> bool:
        return self.clause(start) == self.clause(max(start, end - 1))

    def words_between(self, start: int, end: int) -> int:
        return len(_WORD.findall(self.norm[start:end])) if end > start else 0

    def span(self, start: int, end: int) -> Span:
        while start < end and self.norm[start].isspace():
            start += 1
        while end > start and self.norm[end - 1].isspace():
            end -= 1
        return (self.index[start], self.index[end - 1] + 1) if end > start else (0, 0)


def _hits(text: _Text, rules: Iterable[Any]) -> list[_Hit]:
    """Return the matches of every rule, overlaps resolved.

    Longest first, then earliest, then the rule listed first; a match must not straddle a
    clause boundary.
    """
    candidates = []
    for rule in rules:
        if rule.triggers is not None and rule.triggers.isdisjoint(text.letters):
            continue
        regex: re.Pattern[str] = rule.regex
        for match in regex.finditer(text.norm):
            start, end = match.start(), match.end()
            while end > start and text.norm[end - 1].isspace():
                end -= 1
            if end > start and text.same_clause(start, end):
                candidates.append(_Hit(start, end, rule, match))
    candidates.sort(key=lambda h: (-h.length, h.start, h.rule.order))
    taken: list[_Hit] = []
    for hit in candidates:
        if all(hit.end <= t.start or hit.start >= t.end for t in taken):
            taken.append(hit)
    taken.sort(key=lambda h: h.start)
    return taken


def _spans_of(regex: re.Pattern[str] | None, norm: str) -> list[Span]:
    return [] if regex is None else [(m.start(), m.end()) for m in regex.finditer(norm)]


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < o[1] and o[0] < span[1] for o in others)


class _Scope:
    """Negation and hedging: which matches a cue applies to."""

    def __init__(self, text: _Text, lexicon: Lexicon, protected: Sequence[Span]) -> None:
        self.text = text
        self.lexicon = lexicon
        pseudo = _spans_of(lexicon.pseudo_negation, text.norm)
        blocked = [*pseudo, *protected]
        self.before = [
            s for s in _spans_of(lexicon.negation_before, text.norm) if not _overlaps(s, blocked)
        ]
        self.after = [
            s for s in _spans_of(lexicon.negation_after, text.norm) if not _overlaps(s, blocked)
        ]
        self.hedges = _spans_of(lexicon.hedges, text.norm)

    def negated(self, start: int, end: int) -> bool:
        clause = self.text.clause(start)
        for cue_start, cue_end in self.before:
            if (
                cue_end <= start
                and self.text.clause(cue_start) == clause
                and self.text.words_between(cue_end, start) <= self.lexicon.negation_window
            ):
                return True
        for cue_start, _ in self.after:
            if (
                cue_start >= end
                and self.text.clause(cue_start) == clause
                and self.text.words_between(end, cue_start) <= 3
            ):
                return True
        return False

    def hedged(self, start: int) -> bool:
        clause = self.text.clause(start)
        return any(h[1] <= start and self.text.clause(h[0]) == clause for h in self.hedges)


def _duration_spans(text: _Text, lexicon: Lexicon) -> list[tuple[int, float, Span]]:
    """(clause, hours, span) for every duration said ("for 12 hours", "since yesterday")."""
    found: list[tuple[int, float, Span]] = []
    if lexicon.durations is not None:
        for match in lexicon.durations.finditer(text.norm):
            amount = 1.0 if match.group("one") else lexicon.numbers.value(match.group("n") or "")
            unit = " ".join(match.group("unit").split())
            if amount is not None and unit in lexicon.duration_units:
                found.append(
                    (
                        text.clause(match.start()),
                        amount * lexicon.duration_units[unit],
                        text.span(match.start(), match.end()),
                    )
                )
    for regex, hours in lexicon.duration_phrases:
        found.extend(
            (text.clause(m.start()), hours, text.span(m.start(), m.end()))
            for m in regex.finditer(text.norm)
        )
    return sorted(found, key=lambda item: item[2])


def _durations(text: _Text, lexicon: Lexicon) -> list[tuple[int, float]]:
    """(clause, hours) for every duration said ("for 12 hours", "since yesterday")."""
    return [(clause, hours) for clause, hours, _ in _duration_spans(text, lexicon)]


def _side(text: _Text, lexicon: Lexicon, start: int, end: int) -> str | None:
    """Return the side ("left"/"right") said within three words of a site, in its clause."""
    if text.side_cues is None:
        ignored = _spans_of(lexicon.side_ignored, text.norm)
        text.side_cues = [
            (cue_start, cue_end, side)
            for regex, side in ((lexicon.left, "left"), (lexicon.right, "right"))
            for cue_start, cue_end in _spans_of(regex, text.norm)
            if not _overlaps((cue_start, cue_end), ignored)
        ]
    clause = text.clause(start)
    best: tuple[int, str] | None = None
    for cue_start, cue_end, side in text.side_cues:
        if text.clause(cue_start) != clause:
            continue
        distance = _words_apart(text, (cue_start, cue_end), (start, end))
        if distance > 3 or (best is not None and distance >= best[0]):
            continue
        # "chest pain going down my left arm": "left" is the arm's, not the chest's.
        if any(
            other != (start, end) and _words_apart(text, (cue_start, cue_end), other) < distance
            for other in text.site_spans
        ):
            continue
        best = (distance, side)
    return best[1] if best else None


def _words_apart(text: _Text, one: Span, two: Span) -> int:
    if one[1] <= two[0]:
        return text.words_between(one[1], two[0])
    if two[1] <= one[0]:
        return text.words_between(two[1], one[0])
    return 0


def _site_values(site: _Site, side: str | None) -> tuple[str, ...]:
    if side == "left" and site.left:
        return site.left
    if side == "right" and site.right:
        return site.right
    return site.values or (site.left + site.right)


def parse_text(
    kb: KnowledgeBase,
    text: str,
    language: Language | None = None,
    answering_evidence_id: str | None = None,
) -> ParseResult:
    """Find the evidence, age and sex stated in ``text``.

    With ``answering_evidence_id``, short answers ("yes", "about a seven", "je ne sais pas")
    are also read as the answer to that question.
    """
    language = language or detect_language(text)
    lexicon = lexicon_for(kb, language)
    parsed = _Text(text, lexicon)
    found: list[_Found] = []

    terms = _hits(parsed, lexicon.terms)
    dependent = _hits(parsed, lexicon.dependent_terms)
    anchors = _hits(parsed, lexicon.anchors)
    modifiers = _hits(parsed, lexicon.modifiers)
    sites = _hits(parsed, lexicon.sites)
    parsed.site_spans = [(h.start, h.end) for h in sites]
    numbers = _hits(parsed, (*lexicon.measurements, *lexicon.ages))
    scope = _Scope(
        parsed, lexicon, [(h.start, h.end) for h in (*terms, *dependent, *anchors, *numbers)]
    )
    stated_durations = _duration_spans(parsed, lexicon)
    durations = [(clause, hours) for clause, hours, _ in stated_durations]

    def confidence_of(hit: _Hit, base: float) -> float:
        return round(base * (lexicon.hedge_confidence if scope.hedged(hit.start) else 1.0), 3)

    # Terms: phrases that state evidence outright.
    for hit in terms:
        rule: _Rule = hit.rule
        if not _rule_applies(rule, hit, parsed, lexicon, durations):
            continue
        found.extend(
            _rule_answers(kb, rule, hit, parsed, scope, confidence_of(hit, rule.confidence))
        )

    # Anchors ("pain", "hurts", "itchy rash") and the body sites that belong to them.
    affirmed_anchors: list[_Hit] = []
    negated_anchor_ids: set[int] = set()
    for hit in anchors:
        rule = hit.rule
        negated = scope.negated(hit.start, hit.end)
        if negated:
            negated_anchor_ids.add(id(hit))
        else:
            affirmed_anchors.append(hit)
    # "No pain ... but my belly hurts": the general denial is withdrawn, with what it implied.
    affirmed_kinds = {hit.rule.anchors for hit in affirmed_anchors}
    radiation = _spans_of(lexicon.radiation, parsed.norm)
    specific_denials: set[int] = set()
    for site_hit in sites:
        anchor = _nearest_anchor(parsed, site_hit, anchors)
        if anchor is None:
            continue
        if id(anchor) in negated_anchor_ids:
            specific_denials.add(id(anchor))
            span = [parsed.span(site_hit.start, site_hit.end)]
            found.extend(
                _Found(Answer(denied, False), span, True, 0.9) for denied in site_hit.rule.denies
            )
            continue
        evidence_id = anchor.rule.anchors
        if (
            lexicon.radiation_evidence
            and evidence_id == "E_55"
            and any(
                parsed.clause(r[0]) == parsed.clause(site_hit.start)
                and anchor.start < r[0]
                and r[1] <= site_hit.start
                for r in radiation
            )
        ):
            evidence_id = lexicon.radiation_evidence
        if evidence_id is None:
            continue
        evidence = kb.evidences[evidence_id]
        side = _side(parsed, lexicon, site_hit.start, site_hit.end)
        for value_id in _site_values(site_hit.rule, side):
            if evidence.value(value_id) is None:
                continue
            found.append(
                _Found(
                    Answer(evidence_id, value_id),
                    [parsed.span(site_hit.start, site_hit.end)],
                    confidence=confidence_of(anchor, anchor.rule.confidence),
                )
            )
    for hit in anchors:
        rule = hit.rule
        if id(hit) in specific_denials or (
            id(hit) in negated_anchor_ids
            and any(
                kb.evidences[a.evidence_id].kind is not EvidenceKind.BINARY for a in rule.answers
            )
        ):
            # "No chest pain": weak evidence of no pain at all, the patient may hurt elsewhere.
            found.extend(_rule_answers(kb, rule, hit, parsed, scope, 0.5))
            if id(hit) not in specific_denials and rule.anchors not in affirmed_kinds:
                span = [parsed.span(hit.start, hit.end)]
                found.extend(_Found(Answer(denied, False), span, True) for denied in rule.denies)
        else:
            found.extend(
                _rule_answers(kb, rule, hit, parsed, scope, confidence_of(hit, rule.confidence))
            )
            if id(hit) in negated_anchor_ids and rule.anchors not in affirmed_kinds:
                span = [parsed.span(hit.start, hit.end)]
                found.extend(_Found(Answer(denied, False), span, True) for denied in rule.denies)

    # Modifiers ("severe", "suddenly"): only beside an affirmed anchor in the same clause.
    for hit in modifiers:
        rule = hit.rule
        if rule.needs_anchor and not any(
            a.rule.anchors == rule.needs_anchor
            and parsed.clause(a.start) == parsed.clause(hit.start)
            for a in affirmed_anchors
        ):
            continue
        if not _rule_applies(rule, hit, parsed, lexicon, durations):
            continue
        found.extend(
            _rule_answers(kb, rule, hit, parsed, scope, confidence_of(hit, rule.confidence))
        )

    # Measurements, age.
    age_years: float | None = None
    for hit in numbers:
        if isinstance(hit.rule, _AgeRule):
            if age_years is None:
                age_years = _age(hit, lexicon, parsed)
            continue
        found.extend(_measurement(kb, hit, lexicon, parsed, scope))

    # Terms that only count beside another finding ("I have a plan" after suicidal thoughts).
    affirmed = {
        f.answer.evidence_id
        for f in found
        if not f.negated and f.answer.value is not None and f.answer.value is not False
    }
    for hit in dependent:
        rule = hit.rule
        if rule.requires & affirmed and _rule_applies(rule, hit, parsed, lexicon, durations):
            found.extend(
                _rule_answers(kb, rule, hit, parsed, scope, confidence_of(hit, rule.confidence))
            )

    if answering_evidence_id:
        found.extend(_short_answer(kb, lexicon, parsed, answering_evidence_id, sites))

    return ParseResult(
        evidence=_merge(kb, found, lexicon),
        language=language,
        age_years=age_years,
        sex=_sex(parsed, lexicon),
        durations=tuple(StatedDuration(hours, span) for _, hours, span in stated_durations),
    )


def _rule_applies(
    rule: _Rule, hit: _Hit, text: _Text, lexicon: Lexicon, durations: list[tuple[int, float]]
) -> bool:
    if rule.min_hours is not None:
        clause = text.clause(hit.start)
        if not any(c == clause and hours >= rule.min_hours for c, hours in durations):
            return False
    if rule.min_number is not None:
        raw = _first_number(hit.match)
        value = lexicon.numbers.value(raw) if raw else None
        if value is None or value < rule.min_number:
            return False
    return True


def _rule_answers(
    kb: KnowledgeBase, rule: _Rule, hit: _Hit, text: _Text, scope: _Scope, confidence: float
) -> Iterator[_Found]:
    negated = scope.negated(hit.start, hit.end)
    span = text.span(hit.start, hit.end)
    for answer in rule.answers:
        if answer.value is False:
            # The phrase states an absence ("non-smoker"); denying it ("not a non-smoker")
            # says too little to use.
            if not negated:
                yield _Found(answer, [span], True, confidence)
        elif negated:
            # Only a yes/no can be denied; "not crushing" says nothing about what it is.
            if kb.evidences[answer.evidence_id].kind is EvidenceKind.BINARY:
                yield _Found(Answer(answer.evidence_id, False), [span], True, confidence)
        else:
            yield _Found(answer, [span], False, confidence)


def _nearest_anchor(text: _Text, site: _Hit, anchors: Sequence[_Hit]) -> _Hit | None:
    clause = text.clause(site.start)
    best: tuple[int, _Hit] | None = None
    for anchor in anchors:
        if anchor.rule.anchors is None or text.clause(anchor.start) != clause:
            continue
        if anchor.end <= site.start:
            distance = site.start - anchor.end
        elif anchor.start >= site.end:
            distance = anchor.start - site.end
        else:
            distance = 0
        if best is None or distance < best[0]:
            best = (distance, anchor)
    return best[1] if best else None


def _measurement(
    kb: KnowledgeBase, hit: _Hit, lexicon: Lexicon, text: _Text, scope: _Scope
) -> Iterator[_Found]:
    rule: _Measurement = hit.rule
    raw = _first_number(hit.match)
    value = lexicon.numbers.value(raw) if raw else None
    if value is None or scope.negated(hit.start, hit.end):
        return
    value = rule.convert(value)
    if not rule.low <= value <= rule.high:
        return
    span = [text.span(hit.start, hit.end)]
    if rule.evidence:
        yield _Found(Answer(rule.evidence, float(value)), span, confidence=rule.confidence)
    for implied in rule.implies:
        if implied.at_least is not None and value < implied.at_least:
            continue
        if implied.below is not None and value >= implied.below:
            continue
        yield _Found(Answer(implied.evidence, True), span, confidence=rule.confidence)


def _age(hit: _Hit, lexicon: Lexicon, text: _Text) -> float | None:
    rule: _AgeRule = hit.rule
    if rule.fixed is not None:
        return rule.fixed
    if lexicon.age_blockers is not None and lexicon.age_blockers.match(text.norm, hit.end):
        return None
    raw = _first_number(hit.match)
    value = lexicon.numbers.value(raw) if raw else None
    if value is None:
        return None
    years = value * rule.years_per_unit
    return round(years, 3) if 0 <= years <= 120 else None


def _sex(text: _Text, lexicon: Lexicon) -> Sex | None:
    for want_strong in (True, False):
        first: tuple[int, Sex] | None = None
        for regex, sex, strong in lexicon.sex:
            if strong != want_strong:
                continue
            match = regex.search(text.norm)
            if match and (first is None or match.start() < first[0]):
                first = (match.start(), sex)
        if first is not None:
            return first[1]
    return None


def _short_answer(
    kb: KnowledgeBase,
    lexicon: Lexicon,
    text: _Text,
    evidence_id: str,
    sites: Sequence[_Hit],
) -> Iterator[_Found]:
    """Read a short reply as the answer to the question just asked."""
    evidence = kb.evidence(evidence_id)
    norm = text.norm
    start = 0
    fillers = (
        re.compile(rf"^[\s\W]*(?:(?:{lexicon.fillers})[\s,.!]*)*") if lexicon.fillers else None
    )
    if fillers is not None:
        match = fillers.match(norm)
        start = match.end() if match else 0
    else:
        start = len(norm) - len(norm.lstrip(" \t\n,.!?"))
    ending = re.compile(
        rf"\s*(?:$|[,.;!?]|(?:{lexicon.continuations}))"
        if lexicon.continuations
        else r"\s*(?:$|[,.;!?])"
    )

    def leading(regex: re.Pattern[str]) -> re.Match[str] | None:
        for match in regex.finditer(norm, start):
            if match.start() != start:
                return None
            if ending.match(norm, match.end()):
                return match
        return None

    if lexicon.short_unknown is not None:
        match = lexicon.short_unknown.search(norm)
        if match and text.clause(match.start()) == text.clause(start):
            yield _Found(Answer(evidence_id, None), [text.span(match.start(), match.end())])
            return

    numeric = evidence.kind is EvidenceKind.NUMBER or evidence.is_scale
    if numeric:
        for match in lexicon.number_regex.finditer(norm):
            value = lexicon.numbers.value(match.group(0))
            if value is None:
                continue
            for rule in lexicon.measurements:
                if rule.evidence == evidence_id:
                    value = rule.convert(value)
                    break
            low, high = evidence.scale or (float("-inf"), float("inf"))
            if low <= value <= high:
                yield _Found(
                    Answer(evidence_id, float(value)), [text.span(match.start(), match.end())]
                )
                return
        # "No" to "how intense is the pain" is the bottom of the scale only for scales.
        if evidence.is_scale and evidence.scale is not None:
            for regex, confidence in lexicon.short_no:
                match = leading(regex)
                if match:
                    yield _Found(
                        Answer(evidence_id, evidence.scale[0]),
                        [text.span(match.start(), match.end())],
                        confidence=confidence,
                    )
                    return
        return

    for regex, confidence in lexicon.short_no:
        match = leading(regex)
        if match:
            span = [text.span(match.start(), match.end())]
            if evidence.kind is EvidenceKind.BINARY:
                yield _Found(Answer(evidence_id, False), span, True, confidence)
            elif evidence.default_value is not None:
                yield _Found(Answer(evidence_id, evidence.default_value), span, True, confidence)
            return

    if evidence.kind is EvidenceKind.BINARY:
        for regex, confidence in lexicon.short_yes:
            match = leading(regex)
            if match:
                yield _Found(
                    Answer(evidence_id, True),
                    [text.span(match.start(), match.end())],
                    False,
                    confidence,
                )
                return
        return

    # A choice: the knowledge base's own value texts, then the lexicon's body sites.
    chosen: dict[str, Span] = {}
    for regex, value_id, side in lexicon.value_texts.get(evidence_id, ()):
        for match in regex.finditer(norm):
            said = _side(text, lexicon, match.start(), match.end())
            if side is not None and said is not None and said != side:
                continue
            chosen.setdefault(value_id, text.span(match.start(), match.end()))
    if not chosen:
        for site_hit in sites:
            said = _side(text, lexicon, site_hit.start, site_hit.end)
            for value_id in _site_values(site_hit.rule, said):
                if evidence.value(value_id) is not None:
                    chosen.setdefault(value_id, text.span(site_hit.start, site_hit.end))
    if evidence.kind is EvidenceKind.CATEGORICAL and len(chosen) > 1:
        return  # ambiguous: ask again rather than guess
    for value_id, value_span in chosen.items():
        yield _Found(Answer(evidence_id, value_id), [value_span])


def _merge(kb: KnowledgeBase, found: list[_Found], lexicon: Lexicon) -> tuple[ParsedEvidence, ...]:
    """Merge the findings into one ParsedEvidence per (evidence, value).

    Spans are joined, an affirmation beats a denial, parents are implied (pain location ->
    pain) and combinations added.
    """
    merged: dict[tuple[str, str], _Found] = {}

    def key(answer: Answer) -> tuple[str, str]:
        evidence = kb.evidences[answer.evidence_id]
        if evidence.kind in (EvidenceKind.MULTI,):
            return (answer.evidence_id, str(answer.value))
        return (answer.evidence_id, "")

    def add(item: _Found) -> None:
        k = key(item.answer)
        existing = merged.get(k)
        if existing is None:
            merged[k] = _Found(item.answer, list(item.spans), item.negated, item.confidence)
            return
        if existing.negated and not item.negated:
            merged[k] = _Found(item.answer, list(item.spans), False, item.confidence)
            return
        if item.negated and not existing.negated:
            return
        if existing.answer.value == item.answer.value or item.answer.value is None:
            for span in item.spans:
                if span not in existing.spans:
                    existing.spans.append(span)
            existing.confidence = max(existing.confidence, item.confidence)
        elif existing.answer.value is None or _more_urgent(item.answer, existing.answer):
            merged[k] = _Found(item.answer, list(item.spans), item.negated, item.confidence)

    for item in found:
        add(item)
    # Combinations first (they may have parents), then parents until nothing changes.
    present = {k: v for k, v in merged.items() if not v.negated and v.answer.value is not None}
    denied = {k: v for k, v in merged.items() if v.negated}
    for combination in lexicon.combinations:
        spans: list[Span] = []
        for condition in combination.conditions:
            matching = [
                v
                for v in (denied if condition.denied else present).values()
                if v.answer.evidence_id == condition.evidence
                and (condition.values is None or str(v.answer.value) in condition.values)
                and (
                    condition.at_least is None
                    or (
                        isinstance(v.answer.value, int | float)
                        and not isinstance(v.answer.value, bool)
                        and v.answer.value >= condition.at_least
                    )
                )
            ]
            if not matching:
                break
            spans.extend(s for v in matching for s in v.spans)
        else:
            negated = combination.then.value is False
            add(_Found(combination.then, sorted(set(spans)), negated, confidence=0.9))
    changed = True
    while changed:
        changed = False
        for item in list(merged.values()):
            if item.negated or item.answer.value is None:
                continue
            evidence = kb.evidences[item.answer.evidence_id]
            # A few DDXPlus evidences name a parent the release does not define (E_69 -> E_68).
            if (
                evidence.parent is None
                or evidence.parent not in kb.evidences
                or evidence.kind is EvidenceKind.NUMBER
            ):
                continue
            parent_key = (evidence.parent, "")
            parent = merged.get(parent_key)
            if parent is None or parent.negated:
                merged[parent_key] = _Found(
                    Answer(evidence.parent, True), list(item.spans), False, item.confidence
                )
                changed = True
    ordered = sorted(merged.values(), key=lambda f: (min(f.spans) if f.spans else (0, 0)))
    return tuple(
        ParsedEvidence(
            answer=f.answer,
            spans=tuple(sorted(f.spans)),
            negated=f.negated,
            confidence=f.confidence,
        )
        for f in ordered
    )


def _more_urgent(new: Answer, old: Answer) -> bool:
    """Tell whether ``new`` replaces ``old``, two values of one categorical or scale evidence.

    The higher number wins (the worse pain, the higher temperature); for choices the first said.
    """
    if isinstance(new.value, int | float) and isinstance(old.value, int | float):
        return bool(new.value > old.value)
    return False


def evidence_ids(result: ParseResult) -> tuple[str, ...]:
    """Return the evidence ids found affirmed, in order (for summaries)."""
    return tuple(
        dict.fromkeys(
            e.answer.evidence_id
            for e in result.evidence
            if not e.negated and e.answer.value is not None
        )
    )
