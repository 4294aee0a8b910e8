from voiceassist_gateway.domain.capabilities import KNOWLEDGE_BASE, SPEECH


def test_a_pending_capability_names_itself_and_its_issue() -> None:
    assert SPEECH.describe() == (
        "The speech recognition and synthesis is not available yet; it arrives with issue #6."
    )


def test_a_capability_without_an_issue_says_so() -> None:
    assert "no issue has been filed" in KNOWLEDGE_BASE.describe()
