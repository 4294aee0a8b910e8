"""How the auth service sends mail: invitations, address verification, password resets.

A small `MailSender` interface with one adapter per way of sending, so a deployment can swap
SMTP for a provider's API in one new file. `SmtpMailSender` talks SMTP with aiosmtplib;
`OutboxMailSender` keeps messages in memory, for development without a mail server (it logs
that a message was kept, never its link, which is a credential).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

__all__ = ["Mail", "MailSender", "OutboxMailSender", "SmtpMailSender"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    """One plain-text message to one person."""

    to: str
    subject: str
    body: str


class MailSender(Protocol):
    """Delivers a `Mail`; raises when it could not."""

    async def send(self, mail: Mail) -> None:
        """Send ``mail`` now."""


class SmtpMailSender:
    """Sends through an SMTP server (STARTTLS and login when configured)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout_seconds

    async def send(self, mail: Mail) -> None:
        """Send ``mail`` in one SMTP session."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=self._timeout,
        )


@dataclass
class OutboxMailSender:
    """Keeps every message in memory (development without a mail server, and tests)."""

    sent: list[Mail] = field(default_factory=list)

    async def send(self, mail: Mail) -> None:
        """Keep ``mail``."""
        self.sent.append(mail)
        logger.info("mail kept in the development outbox (no SMTP_HOST set)")
