"""The unprivileged operating-system account that PostgreSQL runs as.

PostgreSQL refuses to run as root (initdb, pg_ctl and postgres all check), and `make up` often runs
as root on a fresh machine. So when we are root, the database processes run as a dedicated system
account that we create on first use; when we are not root, they simply run as ourselves.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ACCOUNT = "voiceassist"


class AccountError(RuntimeError):
    """The account PostgreSQL needs cannot be created or cannot reach its directories."""


@dataclass(frozen=True)
class ServiceAccount:
    """Who the database processes run as: the uid/gid to switch to, or None for ourselves."""

    name: str
    uid: int
    gid: int
    home: Path

    @property
    def is_current_user(self) -> bool:
        """Whether we already are this account, so no identity switch is needed."""
        return self.uid == os.geteuid()

    @property
    def switch_uid(self) -> int | None:
        """The `user=` for subprocess: this account's uid, or None when no switch is needed."""
        return None if self.is_current_user else self.uid

    @property
    def switch_gid(self) -> int | None:
        """The `group=` for subprocess, alongside `switch_uid`."""
        return None if self.is_current_user else self.gid

    @property
    def switch_extra_groups(self) -> list[int] | None:
        """The `extra_groups=` for subprocess: drop root's supplementary groups when switching."""
        return None if self.is_current_user else []

    def take_ownership(self, path: Path) -> None:
        """Hand `path` (a file or directory we created) to this account."""
        if not self.is_current_user:
            os.chown(path, self.uid, self.gid)


def service_account(name: str = DEFAULT_ACCOUNT) -> ServiceAccount:
    """Return the account to run PostgreSQL as, creating the system user `name` when we are root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return ServiceAccount(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        _create_system_user(name)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise AccountError(f"account {name!r} is root; PostgreSQL needs an unprivileged account")
    return ServiceAccount(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))


def check_reachable(account: ServiceAccount, path: Path) -> None:
    """Fail clearly when `account` could not traverse the directories above `path`.

    A data directory under a root-only folder (such as /root or pytest's /tmp/pytest-of-root)
    would otherwise surface as an obscure "Permission denied" from initdb.
    """
    if account.is_current_user:
        return
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        owner_ok = parent.stat().st_uid == account.uid and mode & 0o100
        if not (mode & 0o001 or owner_ok):
            raise AccountError(
                f"{parent} is not searchable by the {account.name!r} account PostgreSQL runs as; "
                "put the data directory somewhere every user can traverse"
            )


def _create_system_user(name: str) -> None:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(  # noqa: S603 - fixed argv, name comes from our own configuration
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit code 9: another process created the same account a moment ago, which is what we want.
    if result.returncode not in (0, 9):
        raise AccountError(f"could not create system user {name!r}: {result.stderr.strip()}")
