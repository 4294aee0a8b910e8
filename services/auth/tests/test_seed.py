"""The demo accounts `make up` creates: secrets printed once, kept in a 0600 file, idempotent."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from voiceassist_auth.seed import DEMO_ACCOUNTS, seed_demo_accounts

from .conftest import Running

pytestmark = pytest.mark.integration


async def test_seeding_twice_creates_each_account_once_and_keeps_the_secrets(
    running: Running, tmp_path: Path
) -> None:
    path = tmp_path / ".data" / "demo-accounts.txt"

    first = await seed_demo_accounts(running.provider, path)
    second = await seed_demo_accounts(running.provider, path)

    assert first == [email for email, _, _ in DEMO_ACCOUNTS]
    assert second == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    clinician = await running.provider.store.user_by_email("clinician@demo.voiceassist.local")
    assert clinician is not None
    assert clinician.mfa_enrolled
    assert "totp secret:" in lines[1]
    assert "totp secret:" not in lines[0]
    password = lines[0].split("password: ")[1].split()[0]
    user = await running.provider.check_password(
        "patient@demo.voiceassist.local", password, "127.0.0.1"
    )
    assert user.email_verified
