from voiceassist_gateway.domain.capabilities import CLINIC_ADMINISTRATION, KNOWLEDGE_BASE


def test_a_pending_capability_names_itself_and_its_issue() -> None:
    assert CLINIC_ADMINISTRATION.describe() == (
        "The clinic administration (practitioners, analytics) is not available yet; "
        "it arrives with issue #7."
    )


def test_a_capability_without_an_issue_says_so() -> None:
    assert "no issue has been filed" in KNOWLEDGE_BASE.describe()
