from voiceassist_gateway.domain.capabilities import IDENTITY, KNOWLEDGE_BASE


def test_a_pending_capability_names_itself_and_its_issue() -> None:
    assert IDENTITY.describe() == (
        "The identity and access service (sign-in, sessions, roles) is not available yet; "
        "it arrives with issue #4."
    )


def test_a_capability_without_an_issue_says_so() -> None:
    assert "no issue has been filed" in KNOWLEDGE_BASE.describe()
