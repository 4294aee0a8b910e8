"""The whole platform for the stack tests: `up` in a scratch directory on free ports.

The conversation, guest and security tests use the session's shared platform (the
`shared_platform` fixture of voiceassist_localstack.pytest_plugin, which the browser tests in
tests/e2e use too); the platform tests kill services and run down/up, so they start their own.
"""

import pytest
from voiceassist_localstack.testing import Platform, load_sign_in_script

__all__ = ["CHEST_PAIN", "Platform", "platform", "sign_in_script"]

# A 58-year-old man with crushing chest pain: any triage outcome will do, it is recorded.
CHEST_PAIN = {
    "patient": {"age_years": 58, "sex": "male"},
    "evidence": [
        {"id": "E_53", "present": True},
        {"id": "E_55", "value_id": "V_101"},
        {"id": "E_57", "value_id": "V_121"},
    ],
    "questions_asked": 2,
}

sign_in_script = load_sign_in_script()


@pytest.fixture(scope="module")
def platform(shared_platform: Platform) -> Platform:
    """Return the session's shared platform (test_platform.py, which stops it, has its own)."""
    return shared_platform
