"""Mail leaves through a real SMTP server (aiosmtpd on a loopback port)."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from voiceassist_auth.adapters.mail import Mail, SmtpMailSender

from ..conftest import Inbox


async def test_a_reset_mail_reaches_the_smtp_server_with_its_link(
    smtp: tuple[Controller, Inbox],
) -> None:
    controller, inbox = smtp
    sender = SmtpMailSender("127.0.0.1", controller.port, sender="VoiceAssist <no-reply@va.test>")

    await sender.send(
        Mail(to="alex@example.org", subject="Reset", body="https://x/reset?token=abc")
    )

    [message] = inbox.messages
    assert message["To"] == "alex@example.org"
    assert message["Subject"] == "Reset"
    assert "token=abc" in message.get_payload()
