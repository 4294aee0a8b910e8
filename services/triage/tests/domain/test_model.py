"""The naive-Bayes differential moves the way the evidence says."""

from __future__ import annotations

import numpy as np
import pytest
from voiceassist_triage.domain.case import Answer, Case, Sex
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.domain.model import BayesModel, log_ratio


@pytest.fixture(scope="module")
def model() -> BayesModel:
    return BayesModel(load_knowledge())


def probability(model: BayesModel, case: Case, condition_id: str) -> float:
    return float(model.posterior(case)[model.index[condition_id]])


def test_posterior_is_a_distribution_over_all_conditions(model: BayesModel) -> None:
    posterior = model.posterior(Case(age_years=40, sex=Sex.MALE))

    assert posterior.shape == (49,)
    assert posterior.sum() == pytest.approx(1.0)
    assert np.all(posterior > 0)


def test_a_finding_raises_the_conditions_it_belongs_to(model: BayesModel) -> None:
    base = Case(age_years=30, sex=Sex.FEMALE, answers=(Answer("E_201", True),))  # cough
    with_fever = base.with_answers(Answer("E_91", True))

    assert probability(model, with_fever, "influenza") > probability(model, base, "influenza")


def test_a_denied_typical_finding_lowers_a_condition(model: BayesModel) -> None:
    base = Case(age_years=30, sex=Sex.MALE, answers=(Answer("E_53", True),))
    no_fever = base.with_answers(Answer("E_91", False))

    assert probability(model, no_fever, "influenza") < probability(model, base, "influenza")


def test_an_unknown_answer_changes_nothing(model: BayesModel) -> None:
    base = Case(age_years=30, sex=Sex.MALE, answers=(Answer("E_53", True),))
    unknown = base.with_answers(Answer("E_91", None))

    np.testing.assert_allclose(model.posterior(unknown), model.posterior(base))


def test_croup_is_a_childhood_condition(model: BayesModel) -> None:
    child = Case(age_years=3, sex=Sex.MALE, answers=(Answer("E_201", True),))
    adult = Case(age_years=45, sex=Sex.MALE, answers=(Answer("E_201", True),))

    assert probability(model, child, "croup") > 5 * probability(model, adult, "croup")


def test_a_full_ddxplus_presentation_ranks_its_condition_first(model: BayesModel) -> None:
    # A first patient of the development file with pneumonia, answers as DDXPlus codes them.
    answers = (
        Answer("E_53", True),
        Answer("E_54", "V_179"),
        Answer("E_55", "V_55"),
        Answer("E_56", "2"),
        Answer("E_66", True),
        Answer("E_77", True),
        Answer("E_91", True),
        Answer("E_201", True),
        Answer("E_181", True),
    )
    ranking = model.ranking(model.posterior(Case(8, Sex.MALE, answers)), 5)

    assert "pneumonia" in [r.condition.id for r in ranking]


def test_question_values_prefer_informative_questions(model: BayesModel) -> None:
    kb = model.kb
    case = Case(age_years=30, sex=Sex.FEMALE, answers=(Answer("E_201", True),))
    posterior = model.posterior(case)

    values = model.question_values(posterior, [kb.evidence("E_91"), kb.evidence("VA_diabetes")])

    assert values["E_91"] > 0.05
    assert values["VA_diabetes"] == pytest.approx(0.0, abs=1e-9)  # links to no condition


def test_log_ratio_is_positive_for_supporting_evidence(model: BayesModel) -> None:
    case = Case(age_years=30, sex=Sex.FEMALE, answers=(Answer("E_91", True),))
    posterior = model.posterior(case)
    (fever,) = model.observations(case)

    assert log_ratio(fever.loglik, posterior, model.index["influenza"]) > 0
    assert log_ratio(fever.loglik, posterior, model.index["gerd"]) < 0
