"""Naive-Bayes differential over the knowledge base, with closed-form question values.

Why naive Bayes: every number it produces is explainable (Explain shows each finding's log
likelihood ratio), it needs no training beyond counting, and the DDXPlus knowledge base states
which evidences belong to which condition, which gives a strong structural prior that carries
over to patients we have not seen: an evidence the knowledge base does not link to a condition
gets a small fixed rate (``unlinked_rate``), a linked one a rate smoothed towards the evidence's
average. See docs/triage.md.

Observations are "atoms": a yes/no evidence; each value of a multiple-choice evidence (present
or not, once the question was answered); or the chosen value of a categorical/scale evidence.
Child evidences (DDXPlus ``code_question``: pain location after "do you have pain") are modelled
given their parent is present, and only asked then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist_triage.domain.case import Case, Sex, Urgency
from voiceassist_triage.domain.knowledge import (
    ConditionDef,
    EvidenceDef,
    EvidenceKind,
    KnowledgeBase,
)
from voiceassist_triage.domain.results import RankedCondition
from voiceassist_triage.domain.statistics import age_band

Vector = npt.NDArray[np.float64]
LEVELS = tuple(Urgency)


@dataclass(frozen=True)
class Observation:
    """One answered evidence as log likelihoods per condition (for Explain)."""

    evidence_id: str
    value: object
    loglik: Vector


@dataclass(frozen=True)
class Hyper:
    """Smoothing and stopping parameters from ``knowledge/model.yaml``."""

    prior_pseudocount: float
    evidence_alpha: float
    evidence_default_rate: float
    unlinked_rate: float
    value_alpha: float
    age_alpha: float
    sex_alpha: float
    urgency_weight: float
    confident_probability: float
    minimum_gain: float
    handover_questions: float

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Hyper:
        """Read the parameters, refusing a missing one by name."""
        try:
            return cls(**{name: float(document[name]) for name in cls.__dataclass_fields__})
        except KeyError as error:
            raise ValueError(f"model.yaml lacks {error.args[0]!r}") from None


class BayesModel:
    """Posterior over conditions and the value of each possible next question."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.hyper = Hyper.from_document(kb.documents["model"])
        stats: Mapping[str, Any] = kb.documents["ddxplus_statistics"]["conditions"]
        self.conditions: tuple[ConditionDef, ...] = tuple(kb.conditions.values())
        self.index = {c.id: i for i, c in enumerate(self.conditions)}
        self.urgency_matrix = np.array(
            [[1.0 if c.urgency is level else 0.0 for level in LEVELS] for c in self.conditions]
        )
        counts = [stats.get(c.ddxplus_name, _EMPTY) for c in self.conditions]
        self._fit_demographics(counts)
        self._fit_binary(counts)
        self._fit_choices(counts)

    # --- fitting ---------------------------------------------------------------------------

    def _fit_demographics(self, counts: Sequence[Mapping[str, Any]]) -> None:
        h = self.hyper
        n = np.array([float(c["n"]) for c in counts])
        self.log_prior = np.log((n + h.prior_pseudocount) / (n + h.prior_pseudocount).sum())
        bands = np.array([c["age_bands"] for c in counts], dtype=float)
        population = (bands.sum(axis=0) + 1.0) / (bands.sum() + bands.shape[1])
        self.log_age = np.log(
            (bands + h.age_alpha * population) / (n[:, None] + h.age_alpha)
        )  # conditions x bands
        female = np.array([float(c["female"]) for c in counts])
        female_rate = (female.sum() + 1.0) / (n.sum() + 2.0)
        p_female = (female + h.sex_alpha * female_rate) / (n + h.sex_alpha)
        self.log_sex = {Sex.FEMALE: np.log(p_female), Sex.MALE: np.log1p(-p_female)}

    def _fit_binary(self, counts: Sequence[Mapping[str, Any]]) -> None:
        h = self.hyper
        binary = [e for e in self.kb.evidences.values() if e.kind is EvidenceKind.BINARY]
        self.binary_column = {e.id: j for j, e in enumerate(binary)}
        theta = np.full((len(self.conditions), len(binary)), h.unlinked_rate)
        for e in binary:
            j = self.binary_column[e.id]
            linked = [i for i, c in enumerate(self.conditions) if e.id in c.evidences]
            rates = [
                _conditional_count(counts[i], e) / _parent_count(counts[i], e)
                for i in linked
                if _parent_count(counts[i], e) > 0
            ]
            mean = float(np.mean(rates)) if rates else h.evidence_default_rate
            for i in linked:
                k, total = _conditional_count(counts[i], e), _parent_count(counts[i], e)
                theta[i, j] = (k + h.evidence_alpha * mean) / (total + h.evidence_alpha)
        theta = np.clip(theta, h.unlinked_rate, 1.0 - h.unlinked_rate)
        self.binary_theta = theta
        self.binary_log_yes = np.log(theta)
        self.binary_log_no = np.log1p(-theta)

    def _fit_choices(self, counts: Sequence[Mapping[str, Any]]) -> None:
        """Multiple-choice values as independent Bernoullis; categorical as a distribution."""
        h = self.hyper
        self.multi: dict[str, tuple[tuple[str, ...], Vector]] = {}
        self.categorical: dict[str, tuple[tuple[str, ...], Vector]] = {}
        for e in self.kb.evidences.values():
            if e.kind not in {EvidenceKind.MULTI, EvidenceKind.CATEGORICAL} or not e.values:
                continue
            value_ids = tuple(v.id for v in e.values)
            observed = np.array(
                [[float(c["values"].get(e.id, {}).get(v, 0)) for v in value_ids] for c in counts]
            )
            parents = np.array([float(_parent_count(c, e)) for c in counts])
            linked = np.array([e.id in c.evidences for c in self.conditions])
            if e.kind is EvidenceKind.MULTI:
                overall = (observed.sum(axis=0) + 0.5) / (parents[linked].sum() + 1.0)
                rate = (observed + h.value_alpha * overall) / (parents[:, None] + h.value_alpha)
                rate[~linked, :] = h.unlinked_rate
                if e.default_value in value_ids:  # "nowhere" is the empty answer, not a value
                    rate[:, value_ids.index(e.default_value)] = h.unlinked_rate
                self.multi[e.id] = (value_ids, np.clip(rate, h.unlinked_rate, 0.999))
            else:
                default = value_ids.index(e.default_value) if e.default_value in value_ids else 0
                # Patients with the parent but no listed value gave the default value.
                observed[:, default] += np.maximum(parents - observed.sum(axis=1), 0.0)
                overall = (observed.sum(axis=0) + 0.5) / (observed.sum() + 0.5 * len(value_ids))
                dist = (observed + h.value_alpha * overall) / (
                    observed.sum(axis=1, keepdims=True) + h.value_alpha
                )
                point = np.full(len(value_ids), h.unlinked_rate)
                point[default] = 1.0
                dist[~linked, :] = point
                dist = dist / dist.sum(axis=1, keepdims=True)
                self.categorical[e.id] = (value_ids, dist)

    # --- inference ---------------------------------------------------------------------------

    def observations(self, case: Case) -> list[Observation]:
        """Each informative answer of ``case`` as log likelihoods per condition."""
        result: list[Observation] = []
        multi_answers: dict[str, set[str]] = {}
        for answer in case.answers:
            evidence = self.kb.evidences.get(answer.evidence_id)
            if evidence is None or answer.value is None:
                continue
            if evidence.kind is EvidenceKind.BINARY:
                j = self.binary_column[evidence.id]
                present = bool(answer.value)
                column = self.binary_log_yes if present else self.binary_log_no
                result.append(Observation(evidence.id, present, column[:, j]))
            elif evidence.kind is EvidenceKind.MULTI and evidence.id in self.multi:
                multi_answers.setdefault(evidence.id, set()).add(str(answer.value))
            elif evidence.kind is EvidenceKind.CATEGORICAL and evidence.id in self.categorical:
                value_ids, dist = self.categorical[evidence.id]
                value_id = self.value_id(evidence, answer.value)
                if value_id in value_ids:
                    loglik = np.log(dist[:, value_ids.index(value_id)])
                    result.append(Observation(evidence.id, value_id, loglik))
        for evidence_id, chosen in multi_answers.items():
            value_ids, rate = self.multi[evidence_id]
            mask = np.array([v in chosen for v in value_ids])
            # Each chosen value counts, and so does each value the patient did not choose.
            for k in np.flatnonzero(mask):
                result.append(Observation(evidence_id, value_ids[k], np.log(rate[:, k])))
            absent = np.log1p(-rate[:, ~mask]).sum(axis=1)
            result.append(Observation(evidence_id, "(not chosen)", absent))
        return result

    @staticmethod
    def value_id(evidence: EvidenceDef, value: object) -> str:
        """Return the value id an answer means: scale numbers are rounded to the nearest step."""
        if isinstance(value, int | float) and not isinstance(value, bool) and evidence.scale:
            low, high = evidence.scale
            return str(int(min(max(round(float(value)), low), high)))
        return str(value)

    def log_joint(self, case: Case) -> Vector:
        """Return log P(condition) + log P(age, sex | condition) + the log likelihoods."""
        total: Vector = self.log_prior.copy()
        if case.age_years is not None:
            total += self.log_age[:, age_band(case.age_years)]
        if case.sex is not None:
            total += self.log_sex[case.sex]
        for observation in self.observations(case):
            total += observation.loglik
        return total

    def posterior(self, case: Case) -> Vector:
        """P(condition | everything in ``case``), in knowledge-base condition order."""
        return _normalise(self.log_joint(case))

    def ranking(self, posterior: Vector, limit: int | None = None) -> tuple[RankedCondition, ...]:
        """Conditions sorted by probability, most probable first."""
        order = np.argsort(-posterior, kind="stable")
        if limit is not None:
            order = order[:limit]
        return tuple(RankedCondition(self.conditions[i], float(posterior[i])) for i in order)

    # --- question value --------------------------------------------------------------------

    def question_values(
        self, posterior: Vector, candidates: Sequence[EvidenceDef]
    ) -> dict[str, float]:
        """Value each candidate question by the uncertainty it is expected to remove.

        In bits, about the condition and, weighted, about the urgency level.
        """
        values: dict[str, float] = {}
        binary = [e.id for e in candidates if e.kind is EvidenceKind.BINARY]
        if binary:
            columns = [self.binary_column[i] for i in binary]
            gains = self._bernoulli_gains(posterior, self.binary_theta[:, columns])
            values.update(zip(binary, gains.tolist(), strict=True))
        prior_entropy = _entropy(posterior)
        for e in candidates:
            if e.kind is EvidenceKind.MULTI and e.id in self.multi:
                # Values are answered together; the sum of their separate gains over-counts
                # shared information, so it is capped at what there is to learn.
                gain = float(self._bernoulli_gains(posterior, self.multi[e.id][1]).sum())
                values[e.id] = min(gain, prior_entropy + self._urgency_entropy(posterior))
            elif e.kind is EvidenceKind.CATEGORICAL and e.id in self.categorical:
                values[e.id] = self._categorical_gain(posterior, self.categorical[e.id][1])
        return values

    def _urgency_entropy(self, posterior: Vector) -> float:
        return self.hyper.urgency_weight * _entropy(posterior @ self.urgency_matrix)

    def _bernoulli_gains(self, p: Vector, theta: Vector) -> Vector:
        """Information gain of each column of ``theta`` (conditions x questions)."""
        joint_yes = p[:, None] * theta
        joint_no = p[:, None] * (1.0 - theta)
        p_yes = joint_yes.sum(axis=0)
        p_no = 1.0 - p_yes
        before = _entropy(p) + self._urgency_entropy(p)
        after_yes = _column_entropy(joint_yes) + self.hyper.urgency_weight * _column_entropy(
            self.urgency_matrix.T @ joint_yes
        )
        after_no = _column_entropy(joint_no) + self.hyper.urgency_weight * _column_entropy(
            self.urgency_matrix.T @ joint_no
        )
        result: Vector = before - (p_yes * after_yes + p_no * after_no)
        return result

    def _categorical_gain(self, p: Vector, dist: Vector) -> float:
        joint = p[:, None] * dist  # conditions x values
        p_value = joint.sum(axis=0)
        after = _column_entropy(joint) + self.hyper.urgency_weight * _column_entropy(
            self.urgency_matrix.T @ joint
        )
        before = _entropy(p) + self._urgency_entropy(p)
        return float(before - (p_value * after).sum())


_EMPTY: Mapping[str, Any] = {
    "n": 0,
    "female": 0,
    "age_bands": [0] * 8,
    "evidence": {},
    "values": {},
}


def _parent_count(counts: Mapping[str, Any], evidence: EvidenceDef) -> int:
    """Patients who could have been asked ``evidence`` (its parent present, or everyone)."""
    if evidence.parent:
        return int(counts["evidence"].get(evidence.parent, 0))
    return int(counts["n"])


def _conditional_count(counts: Mapping[str, Any], evidence: EvidenceDef) -> int:
    return int(counts["evidence"].get(evidence.id, 0))


def _normalise(log_values: Vector) -> Vector:
    shifted = np.exp(log_values - log_values.max())
    result: Vector = shifted / shifted.sum()
    return result


def _entropy(p: Vector) -> float:
    q = p[p > 0]
    return float(-(q * np.log2(q)).sum())


def _column_entropy(joint: Vector) -> Vector:
    """Entropy (bits) of each column of an unnormalised joint, after normalising it."""
    total = joint.sum(axis=0, keepdims=True)
    q = np.divide(joint, total, out=np.zeros_like(joint), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(q > 0, np.log2(q), 0.0)
    result: Vector = -(q * logs).sum(axis=0)
    return result


def log_ratio(loglik: Vector, posterior: Vector, index: int) -> float:
    """Return ln P(finding | condition) - ln P(finding | the rest of the differential)."""
    rest = posterior.copy()
    rest[index] = 0.0
    if rest.sum() <= 0:
        return 0.0
    rest /= rest.sum()
    others = float(np.log(np.dot(rest, np.exp(loglik - loglik.max())))) + float(loglik.max())
    return float(loglik[index]) - others if math.isfinite(others) else 0.0
