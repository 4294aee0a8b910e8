"""Mail leaves through a real SMTP server (aiosmtpd on a loopback port)."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from voiceassist_auth.adapters.mail import Mail, SmtpMailSender
from voiceassist_common.testing import free_port


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[email.message.Message] = []

    def handle_message(self, message: email.message.Message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


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
