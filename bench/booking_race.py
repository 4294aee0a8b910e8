"""Concurrent bookings of one slot through the public API: exactly one may win.

``bench/booking_race.py [--concurrency 200] [--database-url DSN]``

Two bookings of one practitioner must never overlap, whatever the service does under
concurrency (issue #5). This script takes one free slot of the seeded demo clinic (the first
``GET /api/v1/scheduling/slots`` of a general practitioner a day ahead, or the first slot
``/practitioners/match`` offers), starts ``--concurrency`` guest sessions (guests are patients
who may book), then releases all their ``POST /api/v1/scheduling/appointments`` for that slot at
once, each with its own ``Idempotency-Key``. It counts the answers: 201 succeeded, 409 conflicts,
anything else (including a 429 of the gateway's rate limits or a transport error) errors. Then it
reads the truth back from PostgreSQL: the booked rows of that practitioner whose period overlaps
the slot in ``scheduling.appointments``; every row beyond one is a double booking.

With ``VOICEASSIST_URL`` set it uses that running platform (``make up``), and its database from
``DATABASE_URL``, ``--database-url`` or the local runtime's settings (``.env``: LOCAL_PG_PORT,
LOCAL_PG_PASSWORD). That gateway limits each client address (RATE_LIMIT_PER_IP_PER_MINUTE,
default 600 a minute in bursts of 600): the script needs about twice ``--concurrency`` requests,
waits out a 429 while it opens guest sessions, but a 429 of a booking counts as an error.
Without it, the script starts the whole platform itself (``voiceassist-local up`` in a scratch
directory on free ports, as tests/integration does, with the per-address and per-user limits
raised so they measure nothing here) and stops it at the end; that takes a few minutes.

The last line is JSON: attempts, succeeded, conflicts, errors, double_booked. The exit status is
0 only with exactly one success, no double booking and no error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPOSITORY = Path(__file__).resolve().parents[1]
API = "/api/v1"
SESSION_COOKIE = "__Host-voiceassist_session"
CSRF_HEADER = "X-CSRF-Token"
# High enough that a bench-started gateway never answers 429: the limits are not measured here.
UNLIMITED = "100000000"
HTTP_TIMEOUT_SECONDS = 120.0
# How many guest sessions are opened at once: setup, not what is measured.
SETUP_CONCURRENCY = 16
GUEST_RETRIES = 20


@dataclass(frozen=True)
class Target:
    """A running platform: where its gateway answers and its database listens."""

    base_url: str
    dsn: str
    started_here: bool


@dataclass(frozen=True)
class Guest:
    """A guest session: the cookie that carries it and the CSRF token its changes need."""

    subject: str
    session_id: str
    csrf_token: str

    def headers(self, **extra: str) -> dict[str, str]:
        """Headers of a request in this session (cookie set by hand: httpx keeps Secure ones)."""
        return {
            "Cookie": f"{SESSION_COOKIE}={self.session_id}",
            CSRF_HEADER: self.csrf_token,
            **extra,
        }


@dataclass
class Outcomes:
    """Answers to a batch of requests, by kind."""

    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, status: int | str) -> None:
        """Count one answer (an HTTP status, or the name of a transport error)."""
        self.statuses[str(status)] += 1


# --------------------------------------------------------------------------------------------
# The platform
# --------------------------------------------------------------------------------------------


def _local_dsn() -> str:
    """Return the DSN of `make up`'s PostgreSQL, from the local runtime's settings (.env)."""
    from voiceassist_localstack.config import load_local_settings

    settings = load_local_settings(REPOSITORY)
    password = settings.local_pg_password.get_secret_value()
    host = settings.local_bind_host
    return f"postgresql://voiceassist:{password}@{host}:{settings.local_pg_port}/voiceassist"


@contextlib.contextmanager
def platform(database_url: str | None = None) -> Iterator[Target]:
    """Yield the platform of VOICEASSIST_URL, or one started here (and stopped on exit)."""
    url = os.environ.get("VOICEASSIST_URL")
    if url:
        dsn = database_url or os.environ.get("DATABASE_URL") or _local_dsn()
        yield Target(url.rstrip("/"), dsn, started_here=False)
        return
    yield from _started_platform()


def _started_platform() -> Iterator[Target]:
    from voiceassist_localstack.ports import free_port, free_port_block

    # Under /tmp: PostgreSQL's unprivileged account must reach the data directory.
    root = Path(tempfile.mkdtemp(prefix="va-bench-"))
    root.chmod(0o755)
    ports = {
        "LOCAL_PG_PORT": free_port(),
        "LOCAL_NATS_PORT": free_port(),
        "LOCAL_NATS_MONITOR_PORT": free_port(),
        "GATEWAY_HTTP_PORT": free_port(),
        "AUTH_HTTP_PORT": free_port(),
    }
    environment = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "LOCAL_DATA_DIR": str(root / "data"),
        "LOCAL_GRPC_PORT_BASE": str(free_port_block(8)),
        "LOCAL_METRICS_PORT_BASE": str(free_port_block(9)),
        "LOCAL_READY_TIMEOUT": "600",
        "LOG_LEVEL": "WARNING",
        # The supervisor passes its environment on to the gateway.
        "RATE_LIMIT_PER_IP_PER_MINUTE": UNLIMITED,
        "RATE_LIMIT_PER_USER_PER_MINUTE": UNLIMITED,
    }

    def local(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "voiceassist_localstack", command],
            cwd=REPOSITORY,
            env=environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    print("starting the platform on free ports (a few minutes) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    try:
        up = local("up")
        if up.returncode != 0:
            raise SystemExit(f"the platform did not start:\n{up.stdout}{up.stderr}")
        print(f"platform up in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        pg_port = ports["LOCAL_PG_PORT"]
        yield Target(
            f"http://127.0.0.1:{ports['GATEWAY_HTTP_PORT']}",
            f"postgresql://voiceassist:voiceassist@127.0.0.1:{pg_port}/voiceassist",
            started_here=True,
        )
    finally:
        down = local("down")
        if down.returncode != 0:
            print(f"stopping the platform failed:\n{down.stdout}{down.stderr}", file=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Guests and slots
# --------------------------------------------------------------------------------------------


def new_client(base_url: str, connections: int) -> httpx.AsyncClient:
    """Return an HTTP client with a connection for each concurrent caller."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT_SECONDS, limits=limits)


def _session_id(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    raise SystemExit(f"POST {API}/auth/guest set no {SESSION_COOKIE} cookie")


async def start_guest(http: httpx.AsyncClient) -> Guest:
    """Open one guest session, waiting out the gateway's 429s (Retry-After)."""
    for _ in range(GUEST_RETRIES):
        response = await http.post(f"{API}/auth/guest", json={"language": "en"})
        if response.status_code == 201:
            body = response.json()
            return Guest(body["subject"], _session_id(response), body["csrf_token"])
        if response.status_code not in {429, 503}:
            raise SystemExit(f"POST {API}/auth/guest: {response.status_code} {response.text}")
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    raise SystemExit(f"POST {API}/auth/guest kept answering 429/503; try again later")


async def start_guests(http: httpx.AsyncClient, count: int) -> list[Guest]:
    """Open ``count`` guest sessions, a few at a time."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one() -> Guest:
        async with gate:
            return await start_guest(http)

    return list(await asyncio.gather(*(one() for _ in range(count))))


def rfc3339(instant: datetime) -> str:
    """Return ``instant`` as RFC 3339 UTC with a Z."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time of the API."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def get_json(http: httpx.AsyncClient, guest: Guest, path: str, **query: Any) -> Any:
    """GET ``path`` as ``guest``, waiting out 429s; stop the script on anything but 200."""
    for _ in range(GUEST_RETRIES):
        response = await http.get(path, params=query, headers=guest.headers())
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text}")
    return response.json()


async def one_free_slot(http: httpx.AsyncClient, guest: Guest) -> dict[str, Any]:
    """Find a free slot of the demo clinic a day ahead or later (no 24-hour rule applies)."""
    start = datetime.now(UTC) + timedelta(days=1)
    window = {"start": rfc3339(start), "end": rfc3339(start + timedelta(days=14))}
    found = await get_json(
        http, guest, f"{API}/scheduling/slots", specialty="general_practice", page_size=1, **window
    )
    if found["slots"]:
        slot: dict[str, Any] = found["slots"][0]
        return slot
    matched = await get_json(
        http, guest, f"{API}/scheduling/practitioners/match", urgency="consultation", **window
    )
    for match in matched["matches"]:
        for slot in match["earliest_slots"]:
            return dict(slot)
    raise SystemExit(f"no free slot in the demo clinic (match outcome {matched['outcome']})")


async def book(
    http: httpx.AsyncClient, guest: Guest, slot_id: str, key: str | None = None
) -> tuple[int | str, dict[str, Any] | None]:
    """Book ``slot_id`` as ``guest``: the status (or transport error) and the JSON body."""
    headers = guest.headers(**{"Idempotency-Key": key or str(uuid.uuid4())})
    try:
        response = await http.post(
            f"{API}/scheduling/appointments", json={"slot_id": slot_id}, headers=headers
        )
    except httpx.HTTPError as error:
        return type(error).__name__, None
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body if isinstance(body, dict) else None


async def cancel(http: httpx.AsyncClient, guest: Guest, appointment_id: str) -> None:
    """Cancel a booking this script made on someone else's platform (best effort).

    Waits out the gateway's 429s, since the bench has usually just spent its address's budget.
    """
    headers = guest.headers(**{"Idempotency-Key": str(uuid.uuid4())})
    for _ in range(GUEST_RETRIES):
        try:
            response = await http.post(
                f"{API}/scheduling/appointments/{appointment_id}/cancel",
                json={"reason": "benchmark"},
                headers=headers,
            )
        except httpx.HTTPError:
            return
        if response.status_code != 429:
            return
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


# --------------------------------------------------------------------------------------------
# The race
# --------------------------------------------------------------------------------------------


async def booked_rows(dsn: str, slot: Mapping[str, Any]) -> int:
    """Booked appointments of the slot's practitioner overlapping the slot's period."""
    connection = await asyncpg.connect(dsn)
    try:
        count = await connection.fetchval(
            """
            SELECT count(*) FROM scheduling.appointments
            WHERE practitioner_id = $1::uuid AND status = 'booked'
              AND period && tstzrange($2::timestamptz, $3::timestamptz, '[)')
            """,
            slot["practitioner_id"],
            parse_time(slot["start_time"]),
            parse_time(slot["end_time"]),
        )
    finally:
        await connection.close()
    return int(count)


async def race(target: Target, concurrency: int) -> dict[str, Any]:
    """Run the race against ``target`` and return the figures."""
    async with new_client(target.base_url, concurrency + SETUP_CONCURRENCY) as http:
        print(f"opening {concurrency} guest sessions …", file=sys.stderr, flush=True)
        guests = await start_guests(http, concurrency)
        slot = await one_free_slot(http, guests[0])
        # Every request is built and waiting on the gate, so they leave together.
        gate = asyncio.Event()

        async def contender(guest: Guest) -> tuple[int | str, dict[str, Any] | None]:
            await gate.wait()
            return await book(http, guest, slot["slot_id"])

        tasks = [asyncio.create_task(contender(guest)) for guest in guests]
        await asyncio.sleep(0.1)
        started = time.perf_counter()
        gate.set()
        answers = await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        outcomes = Outcomes()
        winners: list[tuple[Guest, str]] = []
        for guest, (status, body) in zip(guests, answers, strict=True):
            outcomes.add(status)
            if status == 201 and body is not None:
                winners.append((guest, str(body.get("appointment_id", ""))))
        rows = await booked_rows(target.dsn, slot)
        if not target.started_here:
            # Leave the shared demo clinic as it was.
            for guest, appointment_id in winners:
                await cancel(http, guest, appointment_id)
    statuses = outcomes.statuses
    errors = {status: count for status, count in statuses.items() if status not in {"201", "409"}}
    return {
        "attempts": concurrency,
        "succeeded": statuses["201"],
        "conflicts": statuses["409"],
        "errors": sum(errors.values()),
        "double_booked": max(0, rows - 1),
        "booked_rows": rows,
        "error_statuses": errors,
        "race_seconds": round(elapsed, 3),
        "platform": "started" if target.started_here else "VOICEASSIST_URL",
    }


def main(argv: list[str] | None = None) -> int:
    """Start or find the platform, run the race, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=200, help="bookings sent at once")
    parser.add_argument(
        "--database-url", help="PostgreSQL of the VOICEASSIST_URL platform (default: see above)"
    )
    parser.add_argument(
        "--json", action="store_true", help="accepted; the JSON line is always last"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 2:
        parser.error("--concurrency must be at least 2: a race needs two")
    with platform(args.database_url) as target:
        figures = asyncio.run(race(target, args.concurrency))
    print(
        f"{figures['attempts']} concurrent bookings of one slot "
        f"(released together, answered within {figures['race_seconds']} s):\n"
        f"  succeeded {figures['succeeded']}, conflicts (409) {figures['conflicts']}, "
        f"errors {figures['errors']} {figures['error_statuses'] or ''}\n"
        f"  booked rows overlapping the slot in the database: {figures['booked_rows']} "
        f"(double bookings {figures['double_booked']})"
    )
    if figures["error_statuses"].get("429"):
        print(
            "  429: the gateway's per-address limit (RATE_LIMIT_PER_IP_PER_MINUTE) refused some "
            "bookings; run without VOICEASSIST_URL, or lower --concurrency",
            file=sys.stderr,
        )
    print(json.dumps(figures))
    correct = figures["succeeded"] == 1 and figures["double_booked"] == 0 and not figures["errors"]
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
