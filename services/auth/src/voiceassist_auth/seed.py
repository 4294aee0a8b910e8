"""Demo accounts for development: a patient, a clinician and an admin, made at ``make up``.

Development only (AUTH_DEMO_ACCOUNTS_FILE is refused outside VOICEASSIST_ENV=dev). The first
start generates each password (and the TOTP secrets of the clinician and admin, who must use a
second factor), stores only their hashes, and writes them to the file (mode 0600) so that
later ``make up`` runs can print them again. Seeding again changes nothing: an account that
exists is left as it is, so a password changed through the app stays changed.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import pyotp
from voiceassist_common.tokens import Role

from voiceassist_auth.domain import credentials
from voiceassist_auth.provider import Provider

__all__ = ["DEMO_ACCOUNTS", "seed_demo_accounts"]

logger = logging.getLogger(__name__)

DEMO_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("patient@demo.voiceassist.local", "Demo Patient", Role.PATIENT),
    ("clinician@demo.voiceassist.local", "Demo Clinician", Role.CLINICIAN),
    ("admin@demo.voiceassist.local", "Demo Admin", Role.ADMIN),
)


async def seed_demo_accounts(provider: Provider, path: Path) -> list[str]:
    """Create the demo accounts that are missing; return the e-mails created.

    New accounts' secrets are appended to ``path`` (created with mode 0600).
    """
    created = []
    lines = []
    for email, name, role in DEMO_ACCOUNTS:
        if await provider.store.user_by_email(email) is not None:
            continue
        password = f"Demo-{secrets.token_urlsafe(12)}"
        user = await provider.create_user(
            email=email,
            display_name=name,
            roles=frozenset({role}),
            password=password,
            email_verified=True,
        )
        line = f"{role.value:<10} {email}  password: {password}"
        if user.mfa_required:
            secret = pyotp.random_base32()
            codes = credentials.new_recovery_codes(0)
            await provider.store.enrol_totp(user.id, secret, codes, provider.clock())
            line += f"  totp secret: {secret}"
        lines.append(line)
        created.append(email)
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        logger.info("seeded %d demo accounts; secrets in %s", len(created), path)
    return created
