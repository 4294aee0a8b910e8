"""The triage knowledge base: evidences, conditions, red-flag rules and lexicons, loaded from data.

Knowledge is data, not code: everything clinical lives in versioned files under
``voiceassist_triage/knowledge/`` (see ``manifest.yaml`` there and docs/triage.md):

- ``ddxplus/``: the DDXPlus release files (CC-BY 4.0, Fansi Tchango et al., NeurIPS 2022),
  copied unchanged: 49 conditions and 223 evidences with English and French texts;
- ``extensions.yaml``: VoiceAssist evidences DDXPlus lacks (``VA_*``: pregnancy, confusion,
  suicidal thoughts, temperature in degrees, ...), which the red-flag rules need;
- ``conditions.yaml``: per condition, the plain-language names, the specialty to book and the
  baseline urgency, written by us;
- ``red_flags.yaml``: the urgency rules, each with its clinical source;
- ``lexicon/{en,fr}.yaml``: how patients say things, for the parser;
- ``likelihoods.json``: P(evidence | condition) fitted from the development patients by
  ``python -m voiceassist_triage.domain.fit``.

The knowledge version printed on every response is the manifest version plus a digest of every
file, so any edit to any file is visible in the version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from voiceassist_triage.domain.case import Language, Urgency

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

DISCLAIMER = {
    Language.EN: (
        "This is not a diagnosis. It is guidance from an automated assistant; "
        "a doctor or nurse must confirm it."
    ),
    Language.FR: (
        "Ceci n'est pas un diagnostic. Il s'agit d'une orientation donnée par un assistant "
        "automatique ; un médecin ou un infirmier doit la confirmer."
    ),
}
"""The words every clinical response carries, in each language."""


class KnowledgeError(ValueError):
    """A knowledge file is missing, malformed or refers to something that does not exist."""


class EvidenceKind(StrEnum):
    """How an evidence is answered."""

    BINARY = "binary"
    CATEGORICAL = "categorical"
    MULTI = "multi"
    NUMBER = "number"


@dataclass(frozen=True)
class EvidenceValue:
    """One possible answer of a categorical or multiple-choice evidence."""

    id: str
    text: Mapping[Language, str]


@dataclass(frozen=True)
class EvidenceDef:
    """One thing the engine can ask about or find in text."""

    id: str
    kind: EvidenceKind
    question: Mapping[Language, str]
    values: tuple[EvidenceValue, ...] = ()
    default_value: str | None = None
    parent: str | None = None
    """Evidence that must be answered yes before this one is asked (DDXPlus ``code_question``)."""
    is_antecedent: bool = False
    source: str = "ddxplus"
    scale: tuple[float, float] | None = None
    """For numeric answers: the lowest and highest value (pain 0..10, temperature 30..45)."""
    unit: str | None = None

    @property
    def is_scale(self) -> bool:
        """True for categorical evidence whose values are the numbers of a scale (pain 0-10)."""
        return self.kind is EvidenceKind.CATEGORICAL and self.scale is not None

    def value(self, value_id: str) -> EvidenceValue | None:
        """Return the value with ``value_id``, or None when this evidence has no such value."""
        for value in self.values:
            if value.id == value_id:
                return value
        return None


@dataclass(frozen=True)
class ConditionDef:
    """One condition of the differential."""

    id: str
    ddxplus_name: str
    name: Mapping[Language, str]
    lay_name: Mapping[Language, str]
    icd10: str
    severity: int
    symptoms: frozenset[str]
    antecedents: frozenset[str]
    specialty: str = "general_practice"
    """Specialty to book, as the lower-case name of ``voiceassist.common.v1.Specialty``."""
    urgency: Urgency = Urgency.CONSULTATION
    """How urgent the condition is when it is the likely explanation, before red flags."""

    @property
    def evidences(self) -> frozenset[str]:
        """Every evidence the knowledge base links to this condition."""
        return self.symptoms | self.antecedents


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the engine knows, loaded once per process."""

    version: str
    evidences: Mapping[str, EvidenceDef]
    conditions: Mapping[str, ConditionDef]
    documents: Mapping[str, Any] = field(repr=False)
    """The parsed YAML/JSON documents by file stem (``red_flags``, ``lexicon_en``, ...), for
    the modules that compile them (red flags, parser)."""

    def evidence(self, evidence_id: str) -> EvidenceDef:
        """Return the evidence with ``evidence_id``; KeyError names it when unknown."""
        try:
            return self.evidences[evidence_id]
        except KeyError:
            raise KeyError(f"unknown evidence id {evidence_id!r}") from None

    def condition_by_ddxplus_name(self, name: str) -> ConditionDef:
        """Return the condition DDXPlus calls ``name`` (as in the patients' PATHOLOGY column)."""
        for condition in self.conditions.values():
            if condition.ddxplus_name == name:
                return condition
        raise KeyError(f"unknown DDXPlus condition {name!r}")

    @property
    def red_flag_rules(self) -> tuple[Any, ...]:
        """The compiled red-flag rules (``voiceassist_triage.domain.redflags.RedFlagRule``)."""
        from voiceassist_triage.domain.redflags import compile_rules

        return _compiled_rules(self, compile_rules)


_RULE_CACHE: dict[str, tuple[Any, ...]] = {}


def _compiled_rules(kb: KnowledgeBase, compile_rules: Any) -> tuple[Any, ...]:
    if kb.version not in _RULE_CACHE:
        _RULE_CACHE[kb.version] = tuple(compile_rules(kb))
    return _RULE_CACHE[kb.version]


def condition_id(ddxplus_name: str) -> str:
    """Return a stable, URL-safe id for a DDXPlus condition name.

    "Possible NSTEMI / STEMI" becomes "possible_nstemi_stemi".
    """
    ascii_name = ddxplus_name.replace("é", "e").replace("è", "e")
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


@cache
def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> KnowledgeBase:
    """Load and cross-check every knowledge file under ``directory`` (cached per directory)."""
    manifest = _read_yaml(directory / "manifest.yaml")
    documents: dict[str, Any] = {}
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix not in {".json", ".yaml", ".yml"}:
            continue
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(path.read_bytes())
        key = "_".join(path.relative_to(directory).with_suffix("").parts)
        documents[key] = _read_json(path) if path.suffix == ".json" else _read_yaml(path)
    version = f"{manifest['version']}+{digest.hexdigest()[:10]}"

    evidences = _ddxplus_evidences(documents["ddxplus_release_evidences"])
    evidences.update(_extension_evidences(documents.get("extensions") or {}, evidences))
    conditions = _conditions(
        documents["ddxplus_release_conditions"], documents.get("conditions") or {}, evidences
    )
    return KnowledgeBase(
        version=version, evidences=evidences, conditions=conditions, documents=documents
    )


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise KnowledgeError(f"cannot read knowledge file {path.name}: {error}") from error


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KnowledgeError(f"cannot read knowledge file {path.name}: {error}") from error


def _texts(raw: Mapping[str, Any], what: str) -> dict[Language, str]:
    try:
        return {Language.EN: str(raw["en"]), Language.FR: str(raw["fr"])}
    except KeyError as error:
        raise KnowledgeError(f"{what} lacks a text in {error.args[0]!r}") from None


_SPELLED = {
    "N": {Language.EN: "No", Language.FR: "Non"},
    "Y": {Language.EN: "Yes", Language.FR: "Oui"},
}
"""A few DDXPlus choice questions are yes/no with values meaning "N" and "Y" ("O" in French):
shown and spoken as such letters, a patient could not read them, nor could "yes" be matched."""


def _choice_texts(raw: Mapping[str, Any], what: str) -> dict[Language, str]:
    texts = _texts(raw, what)
    return _SPELLED.get(texts[Language.EN], texts)


_DDXPLUS_KIND = {"B": EvidenceKind.BINARY, "C": EvidenceKind.CATEGORICAL, "M": EvidenceKind.MULTI}


def _ddxplus_evidences(raw: Mapping[str, Any]) -> dict[str, EvidenceDef]:
    evidences: dict[str, EvidenceDef] = {}
    for evidence_id, item in raw.items():
        kind = _DDXPLUS_KIND[item["data_type"]]
        meanings = item.get("value_meaning") or {}
        possible = item.get("possible-values") or []
        scale: tuple[float, float] | None = None
        values: list[EvidenceValue] = []
        if kind is not EvidenceKind.BINARY:
            if meanings:
                values = [
                    EvidenceValue(
                        id=str(v), text=_choice_texts(meanings[str(v)], f"{evidence_id}/{v}")
                    )
                    for v in possible
                ]
            else:  # a numeric scale such as pain intensity 0..10
                values = [
                    EvidenceValue(id=str(v), text={Language.EN: str(v), Language.FR: str(v)})
                    for v in possible
                ]
                numbers = [float(v) for v in possible]
                scale = (min(numbers), max(numbers))
        parent = item.get("code_question")
        default = item.get("default_value")
        evidences[evidence_id] = EvidenceDef(
            id=evidence_id,
            kind=kind,
            question={Language.EN: item["question_en"], Language.FR: item["question_fr"]},
            values=tuple(values),
            default_value=None if kind is EvidenceKind.BINARY else str(default),
            parent=parent if parent and parent != evidence_id else None,
            is_antecedent=bool(item.get("is_antecedent")),
            source="ddxplus",
            scale=scale,
        )
    return evidences


def _extension_evidences(
    raw: Mapping[str, Any], existing: Mapping[str, EvidenceDef]
) -> dict[str, EvidenceDef]:
    evidences: dict[str, EvidenceDef] = {}
    for item in raw.get("evidences", []):
        evidence_id = str(item["id"])
        if evidence_id in existing or evidence_id in evidences:
            raise KnowledgeError(f"extension evidence {evidence_id} is defined twice")
        kind = EvidenceKind(item.get("kind", "binary"))
        values = tuple(
            EvidenceValue(id=str(v["id"]), text=_texts(v["text"], f"{evidence_id}/{v['id']}"))
            for v in item.get("values", [])
        )
        scale_raw = item.get("scale")
        scale = (float(scale_raw[0]), float(scale_raw[1])) if scale_raw else None
        parent = item.get("parent")
        evidences[evidence_id] = EvidenceDef(
            id=evidence_id,
            kind=kind,
            question=_texts(item["question"], evidence_id),
            values=values,
            default_value=item.get("default_value"),
            parent=str(parent) if parent else None,
            is_antecedent=bool(item.get("is_antecedent", False)),
            source="voiceassist",
            scale=scale,
            unit=item.get("unit"),
        )
    for evidence in evidences.values():
        if evidence.parent and evidence.parent not in existing and evidence.parent not in evidences:
            raise KnowledgeError(f"{evidence.id} has unknown parent {evidence.parent}")
    return evidences


_SEVERITY_URGENCY = {
    1: Urgency.EMERGENCY_AMBULANCE,
    2: Urgency.EMERGENCY,
    3: Urgency.CONSULTATION_24,
    4: Urgency.CONSULTATION,
    5: Urgency.SELF_CARE,
}


def _conditions(
    raw: Mapping[str, Any], ours: Mapping[str, Any], evidences: Mapping[str, EvidenceDef]
) -> dict[str, ConditionDef]:
    extra = ours.get("conditions", {}) if ours else {}
    conditions: dict[str, ConditionDef] = {}
    for name in sorted(raw):
        item = raw[name]
        meta = extra.get(name, {})
        unknown = (set(item["symptoms"]) | set(item["antecedents"])) - set(evidences)
        if unknown:
            raise KnowledgeError(f"condition {name} refers to unknown evidences {sorted(unknown)}")
        names = {Language.EN: item["cond-name-eng"], Language.FR: item["cond-name-fr"]}
        urgency = meta.get("urgency")
        conditions[condition_id(name)] = ConditionDef(
            id=condition_id(name),
            ddxplus_name=name,
            name=names,
            lay_name=_texts(meta["lay_name"], name) if "lay_name" in meta else names,
            icd10=str(item["icd10-id"]),
            severity=int(item["severity"]),
            symptoms=frozenset(item["symptoms"]),
            antecedents=frozenset(item["antecedents"]),
            specialty=str(meta.get("specialty", "general_practice")),
            urgency=(
                Urgency[str(urgency).upper()]
                if urgency
                else _SEVERITY_URGENCY[int(item["severity"])]
            ),
        )
    unknown_meta = set(extra) - set(raw)
    if unknown_meta:
        raise KnowledgeError(f"conditions.yaml names unknown conditions {sorted(unknown_meta)}")
    return conditions


def with_documents(kb: KnowledgeBase, **documents: Any) -> KnowledgeBase:
    """Return a copy of ``kb`` with some documents replaced (e.g. statistics fitted on a fold).

    The version gets a ``-variant-<digest>`` suffix, so nothing mistakes it for the shipped
    knowledge and caches keyed by version keep two variants apart.
    """
    merged = {**kb.documents, **documents}
    digest = hashlib.sha256(json.dumps(documents, sort_keys=True, default=str).encode())
    return KnowledgeBase(
        version=f"{kb.version}-variant-{digest.hexdigest()[:10]}",
        evidences=kb.evidences,
        conditions=kb.conditions,
        documents=merged,
    )
