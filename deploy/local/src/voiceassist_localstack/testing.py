"""The whole platform started for tests: `up` in a scratch directory on free ports, then `down`.

Shared by the integration tests (tests/integration) and the browser tests (tests/e2e), whose
conftests wrap `running_platform` in fixtures of the scope they need. Nothing here touches the
`make up` platform: every port is a free one and the data lives in a fresh directory under /tmp.
"""

from __future__ import annotations

import contextlib
import email.policy
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.ports import free_port, free_port_block
from voiceassist_localstack.processes import group_alive, is_alive, read_pid_file
from voiceassist_localstack.services import SERVICES

REPOSITORY = Path(__file__).resolve().parents[4]
"""The repository's root (this package runs from the workspace, never from a wheel)."""


class PlatformError(RuntimeError):
    """`up` or `down` failed, or a process of the platform outlived `down`."""


def load_sign_in_script() -> ModuleType:
    """Load scripts/sign_in.py, whose real code + PKCE sign-in and demo-account reader tests reuse.

    Loaded once per interpreter: a second call returns the module already loaded.
    """
    name = "voiceassist_sign_in_script"
    if name in sys.modules:
        return sys.modules[name]
    path = REPOSITORY / "scripts" / "sign_in.py"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PlatformError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


@dataclass
class Platform:
    """A platform started by the tests: its environment, data directory, settings and PIDs."""

    environment: dict[str, str]
    data: DataDirectory
    settings: LocalSettings
    seen_pids: set[int] = field(default_factory=set)
    mail: MailCatcher | None = None
    """What the platform's auth service mailed, when it was started with a catcher."""

    @property
    def readyz(self) -> str:
        """Return the gateway's readiness URL."""
        return f"http://127.0.0.1:{self.settings.gateway_http_port}/readyz"

    @property
    def base_url(self) -> str:
        """Return the gateway's base URL (the web client and the API)."""
        return f"http://127.0.0.1:{self.settings.gateway_http_port}"

    @property
    def dsn(self) -> str:
        """Return the DSN of the platform's database as the application role."""
        port = self.settings.local_pg_port
        return f"postgresql://voiceassist:voiceassist@127.0.0.1:{port}/voiceassist"

    @property
    def demo_accounts_file(self) -> Path:
        """Return the file `up` wrote the demo accounts to (passwords and TOTP secrets)."""
        return self.data.root / "demo-accounts.txt"

    def command(self, name: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m voiceassist_localstack NAME` against this platform."""
        return subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
            [sys.executable, "-m", "voiceassist_localstack", name],
            cwd=REPOSITORY,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def up(self) -> None:
        """Start the platform and wait for it to be ready; raise with its output if it fails."""
        result = self.command("up")
        self.seen_pids.update(self.running_pids())
        if result.returncode != 0:
            raise PlatformError(f"up failed:\n{result.stdout}{result.stderr}")

    def running_pids(self) -> set[int]:
        """Return the PIDs of the supervisor, the services, NATS and PostgreSQL that are alive."""
        names = ["supervisor", *(spec.name for spec in SERVICES)]
        pids = {read_pid_file(self.data.pid_file(name)) for name in names}
        pids.add(read_pid_file(self.data.nats / "nats-server.pid"))
        pids.add(read_pid_file(self.data.postgres / "postmaster.pid"))
        return {pid for pid in pids if pid is not None and is_alive(pid)}

    def leftovers(self) -> list[int]:
        """Return every PID seen so far whose process (or process group) is still alive."""
        return sorted(pid for pid in self.seen_pids if is_alive(pid) or group_alive(pid))


def new_platform(root: Path, extra: Mapping[str, str] | None = None) -> Platform:
    """Describe a platform living in ROOT on free ports, with `os.environ` as it is now + EXTRA."""
    ports = {
        "LOCAL_PG_PORT": free_port(),
        "LOCAL_NATS_PORT": free_port(),
        "LOCAL_NATS_MONITOR_PORT": free_port(),
        "GATEWAY_HTTP_PORT": free_port(),
        "AUTH_HTTP_PORT": free_port(),
    }
    settings = LocalSettings(
        local_data_dir=root / "data",
        local_pg_port=ports["LOCAL_PG_PORT"],
        local_nats_port=ports["LOCAL_NATS_PORT"],
        local_nats_monitor_port=ports["LOCAL_NATS_MONITOR_PORT"],
        gateway_http_port=ports["GATEWAY_HTTP_PORT"],
        auth_http_port=ports["AUTH_HTTP_PORT"],
        # Free blocks, so neither a running `make up` nor another test session gets in the way.
        local_grpc_port_base=free_port_block(8),
        local_metrics_port_base=free_port_block(9),
        local_ready_timeout=400,
    )
    environment = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "LOCAL_DATA_DIR": str(settings.local_data_dir),
        "LOCAL_GRPC_PORT_BASE": str(settings.local_grpc_port_base),
        "LOCAL_METRICS_PORT_BASE": str(settings.local_metrics_port_base),
        "LOCAL_READY_TIMEOUT": str(settings.local_ready_timeout),
        **(extra or {}),
    }
    return Platform(environment, DataDirectory(settings.local_data_dir), settings)


@contextmanager
def running_platform(*, catch_mail: bool = False) -> Iterator[Platform]:
    """Start a whole platform in a scratch directory; stop it and remove the directory after.

    With ``catch_mail`` the auth service mails (invitations, e-mail checks) to an SMTP server
    run here, readable as ``platform.mail``.

    Raises `PlatformError` when `up` fails, or when `down` fails or leaves a process behind
    (checked even when the body raised, so a leak is never silent).
    """
    # Under /tmp, not pytest's tmp_path: PostgreSQL's unprivileged account must reach it.
    with contextlib.ExitStack() as stack:
        mail = stack.enter_context(catching_mail()) if catch_mail else None
        extra = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port)} if mail else {}
        yield stack.enter_context(_started(extra, mail))


@contextmanager
def _started(extra: dict[str, str], mail: MailCatcher | None) -> Iterator[Platform]:
    root = Path(tempfile.mkdtemp(prefix="va-stack-"))
    root.chmod(0o755)
    platform = new_platform(root, extra)
    platform.mail = mail
    try:
        platform.up()
        yield platform
    finally:
        platform.seen_pids.update(platform.running_pids())
        down = platform.command("down")
        shutil.rmtree(root, ignore_errors=True)
        if down.returncode != 0:
            raise PlatformError(f"down failed:\n{down.stdout}{down.stderr}")
        if leftovers := platform.leftovers():
            raise PlatformError(f"processes left after down: {leftovers}")


MAIL_WAIT_SECONDS = 60


class MailCatcher:
    """An SMTP handler keeping what the platform sends, for tests that follow mailed links."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: object, session: object, envelope: Any
    ) -> str:
        """Keep one message."""
        content = envelope.content
        raw = content.encode() if isinstance(content, str) else content or b""
        message = message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def link_for(self, address: str, page: str = "set-password") -> str:
        """Wait for a mail to ``address`` linking to ``page``; return the link.

        ``set-password`` for an invitation, ``verify-email`` for a sign-up's confirmation.
        """

        def link() -> str | None:
            for message in self.messages:
                if message["To"] == address:
                    body = message.get_body(preferencelist=("plain",))
                    text = body.get_content() if body is not None else ""
                    found = re.search(rf"https?://\S+/login-actions/{page}\?token=\S+", text)
                    if found:
                        return found[0]
            return None

        with self._arrived:
            self._arrived.wait_for(lambda: link() is not None, timeout=MAIL_WAIT_SECONDS)
            found = link()
        if found is None:
            raise AssertionError(f"no {page} link reached {address}")
        return found


@contextmanager
def catching_mail() -> Iterator[MailCatcher]:
    """Run an SMTP server on a free loopback port that keeps every message it is sent."""
    from aiosmtpd.controller import Controller  # a test dependency, not the runtime's

    catcher = MailCatcher(free_port())
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    try:
        yield catcher
    finally:
        controller.stop()
