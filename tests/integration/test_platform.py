"""The whole platform from outside: `up`, /readyz, a SIGKILL, `down`, then `up` again."""

import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from voiceassist_localstack.processes import is_alive, read_pid_file
from voiceassist_localstack.readiness import check_readiness
from voiceassist_localstack.services import SERVICES
from voiceassist_localstack.testing import running_platform

from .conftest import Platform
from .test_guest_upgrade import session_id_set_by, with_cookie

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    """Start a platform of this module's own: these tests kill its services and run down/up."""
    with running_platform() as started:
        yield started


# The gateway lists itself as well as the eight services behind it.
EXPECTED = [spec.name for spec in SERVICES]


def _wait_until(condition: Callable[[], bool], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_readyz_lists_every_service_as_serving(platform: Platform) -> None:
    readiness = check_readiness(platform.readyz)
    assert readiness.is_ready(EXPECTED), readiness
    assert set(EXPECTED) <= set(readiness.serving())


def test_status_shows_every_process_running(platform: Platform) -> None:
    result = platform.command("status")
    assert result.returncode == 0, result.stdout
    for name in ("postgres", "nats", "supervisor", *(spec.name for spec in SERVICES)):
        rows = [line.split() for line in result.stdout.splitlines()]
        assert any(row[:1] == [name] and "running" in row for row in rows), result.stdout


def test_a_killed_service_is_restarted_and_ready_again_within_ten_seconds(
    platform: Platform,
) -> None:
    pid_file = platform.data.pid_file("triage")
    victim = read_pid_file(pid_file)
    assert victim is not None
    assert is_alive(victim)

    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10.0

    def replaced() -> bool:
        pid = read_pid_file(pid_file)
        return pid is not None and pid != victim and is_alive(pid)

    assert _wait_until(replaced, deadline), "the supervisor did not restart triage"
    assert _wait_until(lambda: check_readiness(platform.readyz).is_ready(EXPECTED), deadline), (
        check_readiness(platform.readyz)
    )
    platform.seen_pids.update(platform.running_pids())


async def test_up_after_down_keeps_the_data_and_leaves_nothing_behind(
    platform: Platform,
) -> None:
    connection = await asyncpg.connect(platform.dsn)
    await connection.execute("CREATE TABLE IF NOT EXISTS survival_check (note text)")
    await connection.execute("INSERT INTO survival_check VALUES ('written before down')")
    await connection.close()
    # pg_control starts with the cluster's system identifier: the same cluster, not a new one.
    system_id = (platform.data.postgres / "global" / "pg_control").read_bytes()[:8]
    platform.seen_pids.update(platform.running_pids())

    down = platform.command("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert platform.leftovers() == []

    platform.up()
    connection = await asyncpg.connect(platform.dsn)
    try:
        notes = await connection.fetch("SELECT note FROM survival_check")
    finally:
        await connection.close()
    assert [row["note"] for row in notes] == ["written before down"]
    assert (platform.data.postgres / "global" / "pg_control").read_bytes()[:8] == system_id
    assert check_readiness(platform.readyz).is_ready(EXPECTED)


def test_the_seeded_demo_clinic_is_browsable_through_the_api(platform: Platform) -> None:
    base = f"{platform.base_url}/api/v1"
    with httpx.Client(timeout=60) as http:
        started = http.post(f"{base}/auth/guest", json={})
        assert started.status_code == 201, started.text
        # A guest session is a cookie, as in the browser; reads need no CSRF token.
        token = with_cookie(session_id_set_by(started))
        practices = http.get(f"{base}/scheduling/practices", headers=token).json()["practices"]
        practitioners = http.get(
            f"{base}/scheduling/practitioners", params={"page_size": 100}, headers=token
        ).json()["practitioners"]
        now = datetime.now(UTC)
        fourth_week = http.get(
            f"{base}/scheduling/slots",
            params={
                "specialty": "general_practice",
                "start": (now + timedelta(days=21)).isoformat(),
                "end": (now + timedelta(days=28)).isoformat(),
            },
            headers=token,
        )
    assert {p["city"] for p in practices} >= {"Paris", "Lyon", "Montréal", "Toronto", "London"}
    assert len(practitioners) >= 20
    languages = {language for p in practitioners for language in p["languages"]}
    assert {"en", "fr", "ur"} <= languages
    assert fourth_week.status_code == 200, fourth_week.text
    assert fourth_week.json()["slots"]
