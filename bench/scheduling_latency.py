"""Latency of slot search, matching and booking through the public API, alone and at 100 clients.

``bench/scheduling_latency.py [--clients 100] [--requests N] [--baseline-requests N]``

Issue #5 asks for slot search and booking latency at 100 concurrent clients. Against the whole
platform (started here, or the one at ``VOICEASSIST_URL``; see bench/booking_race.py, whose
platform and guest-session code this script reuses), each client is a guest session (a patient
who may book) that repeats, ``--requests`` times, what a patient does: ``GET
/api/v1/scheduling/slots`` of a random seeded practitioner over a random week,
``GET /practitioners/match`` for a random seeded specialty (urgency ``consultation``), and
``POST /appointments`` of a slot no other request books (slots are listed beforehand, a day
ahead or later, and dealt out once), with its own Idempotency-Key.

Each client has an HTTP connection of its own, opened before the clock starts, and each request
is timed from send to the full answer. First a baseline in the same process: one client,
``--baseline-requests`` rounds back to back after a warm-up; then ``--clients`` clients released
at once. It prints median and p95 of each operation for both runs and the p95 ratio (concurrent
over baseline), and a JSON last line. Only successful answers are timed; any other answer than
200 (201 for a booking) is an error, and the exit status is then 1; against ``VOICEASSIST_URL`` the
gateway's per-address limit (RATE_LIMIT_PER_IP_PER_MINUTE, 600 a minute by default) answers 429
long before 100 clients are done, so measure on a platform started here (limits raised) or on
one started with that limit raised. On a platform it did not start, the script cancels the
bookings it made.

The script, the gateway, the services and PostgreSQL share the machine's cores: on a small
machine the figures include the client's own queueing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
OPERATIONS = ("slots", "match", "book")
API = "/api/v1/scheduling"
# Slots are dealt from this window; searches look at a random week inside it.
HORIZON_DAYS = 27
WARM_UP_ROUNDS = 3


def _booking_race() -> ModuleType:
    """Load the sibling bench script, whose platform and guest sessions this one reuses."""
    spec = importlib.util.spec_from_file_location("booking_race", HERE / "booking_race.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("bench/booking_race.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


race = _booking_race()


@dataclass
class Clinic:
    """What the seeded clinic offers: practitioners, their specialties, and free slots to deal."""

    practitioner_ids: list[str]
    specialties: list[str]
    free_slots: list[str]
    rng: random.Random
    booked: list[tuple[Any, str]] = field(default_factory=list)

    def next_slot(self) -> str:
        """Deal a slot no other request books."""
        if not self.free_slots:
            raise SystemExit("ran out of free slots: lower --clients or --requests")
        return self.free_slots.pop()


@dataclass
class Timings:
    """Seconds per operation, and every answer's status."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    statuses: Counter[str] = field(default_factory=Counter)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def survey(http: httpx.AsyncClient, guest: Any, rng: random.Random) -> Clinic:
    """List the seeded practitioners and their free slots from a day ahead."""
    practitioners: list[dict[str, Any]] = []
    token = ""
    while True:
        page = await race.get_json(
            http, guest, f"{API}/practitioners", page_size=100, page_token=token
        )
        practitioners += page["practitioners"]
        token = page.get("next_page_token") or ""
        if not token:
            break
    if not practitioners:
        raise SystemExit("the clinic has no practitioners: is the demo clinic seeded?")
    start = datetime.now(UTC) + timedelta(days=1)
    window = {"start": race.rfc3339(start), "end": race.rfc3339(start + timedelta(HORIZON_DAYS))}
    slots: list[str] = []
    for practitioner in practitioners:
        token = ""
        while True:
            page = await race.get_json(
                http,
                guest,
                f"{API}/slots",
                practitioner_id=practitioner["practitioner_id"],
                page_size=500,
                page_token=token,
                **window,
            )
            slots += [slot["slot_id"] for slot in page["slots"]]
            token = page.get("next_page_token") or ""
            if not token:
                break
    rng.shuffle(slots)
    specialties = sorted({s for p in practitioners for s in p.get("specialties", [])})
    return Clinic([p["practitioner_id"] for p in practitioners], specialties, slots, rng)


async def patient(
    http: httpx.AsyncClient, guest: Any, clinic: Clinic, rounds: int, timings: Timings | None
) -> None:
    """Search slots, match, book: ``rounds`` times, timing each request into ``timings``."""
    rng = clinic.rng
    for _ in range(rounds):
        week = datetime.now(UTC) + timedelta(days=1 + rng.randrange(HORIZON_DAYS - 7))
        requests: dict[str, tuple[str, str, dict[str, Any]]] = {
            "slots": (
                "GET",
                f"{API}/slots",
                {
                    "practitioner_id": rng.choice(clinic.practitioner_ids),
                    "start": race.rfc3339(week),
                    "end": race.rfc3339(week + timedelta(days=7)),
                },
            ),
            "match": (
                "GET",
                f"{API}/practitioners/match",
                {"urgency": "consultation", "specialty": rng.choice(clinic.specialties)},
            ),
            "book": ("POST", f"{API}/appointments", {"slot_id": clinic.next_slot()}),
        }
        for operation, (method, path, payload) in requests.items():
            headers = guest.headers()
            if method == "POST":
                headers["Idempotency-Key"] = str(uuid.uuid4())
            started = time.perf_counter()
            try:
                if method == "GET":
                    response = await http.get(path, params=payload, headers=headers)
                else:
                    response = await http.post(path, json=payload, headers=headers)
                status = str(response.status_code)
            except httpx.HTTPError as error:
                response, status = None, type(error).__name__
            elapsed = time.perf_counter() - started
            if operation == "book" and response is not None and response.status_code == 201:
                clinic.booked.append((guest, str(response.json()["appointment_id"])))
            if timings is not None:
                # Only answers that did the work are timed: a quick 429 is no search.
                if status == ("201" if operation == "book" else "200"):
                    timings.seconds[operation].append(elapsed)
                timings.statuses[f"{operation} {status}"] += 1


def summary(timings: Timings) -> dict[str, float | None]:
    """Median and p95 in milliseconds of each operation's successful requests (None: none)."""
    figures: dict[str, float | None] = {}
    for operation, seconds in timings.seconds.items():
        if not seconds:
            figures[f"{operation}_ms_median"] = figures[f"{operation}_ms_p95"] = None
            continue
        figures[f"{operation}_ms_median"] = round(1000 * statistics.median(seconds), 2)
        figures[f"{operation}_ms_p95"] = round(1000 * percentile(seconds, 0.95), 2)
    return figures


def errors_of(timings: Timings) -> dict[str, int]:
    """Answers that are not what the operation should get, by operation and status."""
    expected = {"slots 200", "match 200", "book 201"}
    return {key: count for key, count in timings.statuses.items() if key not in expected}


async def measure(
    target: Any, clients: int, requests: int, baseline_requests: int, seed: int
) -> dict[str, Any]:
    """Run the baseline and the concurrent run against ``target``; return the figures."""
    async with race.new_client(target.base_url, clients + race.SETUP_CONCURRENCY) as http:
        print(f"opening {clients} guest sessions …", file=sys.stderr, flush=True)
        guests = await race.start_guests(http, clients)
        # Reproducible choices of queries and slots, not secrets.
        clinic = await survey(http, guests[0], random.Random(seed))  # noqa: S311
        needed = WARM_UP_ROUNDS + baseline_requests + clients * requests
        print(
            f"{len(clinic.practitioner_ids)} practitioners, {len(clinic.free_slots)} free slots "
            f"({needed} will be booked)",
            file=sys.stderr,
            flush=True,
        )
        if len(clinic.free_slots) < needed:
            raise SystemExit(f"only {len(clinic.free_slots)} free slots for {needed} bookings")
        gate, all_ready = asyncio.Event(), asyncio.Event()
        waiting: list[Any] = []

        async def own_connection(guest: Any, rounds: int, timings: Timings) -> None:
            # A client of its own per patient, as in life; one shared httpx pool would cost
            # the client more CPU per request the more connections it holds (httpcore 1.0's
            # pool scans every connection for every request, encode/httpcore#1035).
            async with race.new_client(target.base_url, 1) as own:
                await race.get_json(own, guest, f"{API}/practices")  # open the connection
                waiting.append(guest)
                if len(waiting) == clients:
                    all_ready.set()
                await gate.wait()
                await patient(own, guest, clinic, rounds, timings)

        gate.set()
        await own_connection(guests[0], WARM_UP_ROUNDS, Timings())
        baseline = Timings()
        await own_connection(guests[0], baseline_requests, baseline)
        gate.clear()
        waiting.clear()
        loaded = Timings()
        clients_ready = [
            asyncio.create_task(own_connection(guest, requests, loaded)) for guest in guests
        ]
        ready = asyncio.create_task(all_ready.wait())
        await asyncio.wait([ready, *clients_ready], return_when=asyncio.FIRST_COMPLETED)
        for task in clients_ready:
            if task.done():
                task.result()  # a client that could not even connect: say why, do not wait
        print(f"{clients} clients at once …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        gate.set()
        await asyncio.gather(*clients_ready)
        elapsed = time.perf_counter() - started
        if not target.started_here:
            print(f"cancelling {len(clinic.booked)} bookings …", file=sys.stderr, flush=True)
            for guest, appointment_id in clinic.booked:
                await race.cancel(http, guest, appointment_id)
    base, load = summary(baseline), summary(loaded)
    figures: dict[str, Any] = {
        "clients": clients,
        "requests_per_client_per_operation": requests,
        "baseline_requests_per_operation": baseline_requests,
        "requests_per_second": round(sum(map(len, loaded.seconds.values())) / elapsed, 1),
    }
    for operation in OPERATIONS:
        for stat in ("median", "p95"):
            key = f"{operation}_ms_{stat}"
            figures[f"baseline_{key}"] = base[key]
            figures[f"concurrent_{key}"] = load[key]
        loaded_p95, base_p95 = load[f"{operation}_ms_p95"], base[f"{operation}_ms_p95"]
        figures[f"{operation}_ratio_p95"] = (
            None
            if loaded_p95 is None or base_p95 is None
            else round(loaded_p95 / max(base_p95, 1e-9), 2)
        )
    errors = Counter(errors_of(baseline)) + Counter(errors_of(loaded))
    figures["errors"] = sum(errors.values())
    figures["error_statuses"] = dict(errors)
    figures["platform"] = "started" if target.started_here else "VOICEASSIST_URL"
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Start or find the platform, time both runs, print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="concurrent patients")
    parser.add_argument(
        "--requests", type=int, default=5, help="rounds (slots, match, book) of each client"
    )
    parser.add_argument(
        "--baseline-requests", type=int, default=100, help="rounds of the single baseline client"
    )
    parser.add_argument("--seed", type=int, default=5, help="random choices of slots and queries")
    parser.add_argument("--database-url", help="unused; accepted like bench/booking_race.py")
    parser.add_argument(
        "--json", action="store_true", help="accepted; the JSON line is always last"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.baseline_requests < 1:
        parser.error("--clients, --requests and --baseline-requests must be at least 1")
    with race.platform(args.database_url) as target:
        figures = asyncio.run(
            measure(target, args.clients, args.requests, args.baseline_requests, args.seed)
        )
    print(
        f"Scheduling through the gateway: 1 client (baseline) vs {figures['clients']} clients "
        f"({figures['requests_per_second']} requests/s):"
    )
    for operation in OPERATIONS:
        print(
            f"  {operation:<6} baseline median {figures[f'baseline_{operation}_ms_median']} ms, "
            f"p95 {figures[f'baseline_{operation}_ms_p95']} ms; "
            f"concurrent median {figures[f'concurrent_{operation}_ms_median']} ms, "
            f"p95 {figures[f'concurrent_{operation}_ms_p95']} ms "
            f"(p95 ratio {figures[f'{operation}_ratio_p95']})"
        )
    if figures["errors"]:
        print(f"  errors (not timed): {figures['error_statuses']}")
    if any(status.endswith(" 429") for status in figures["error_statuses"]):
        print(
            "  429: the gateway's per-address limit (RATE_LIMIT_PER_IP_PER_MINUTE) refused "
            "requests; run without VOICEASSIST_URL, or against a gateway with that limit raised",
            file=sys.stderr,
        )
    print(json.dumps(figures))
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
