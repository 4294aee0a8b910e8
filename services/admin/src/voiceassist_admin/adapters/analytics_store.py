"""The analytics facts in PostgreSQL (schema ``admin``) and the windowed reports over them.

Each fact is stored once by the id its publisher gave it (ON CONFLICT DO NOTHING), so the
consumers' at-least-once redelivery is harmless. The reports are computed in SQL: counts with
GROUP BY, latency percentiles with ``percentile_cont`` (interpolated, as the dashboards expect).
"""

from __future__ import annotations

import asyncpg
from voiceassist_common.events import UrgencyLevel

from voiceassist_admin.domain.analytics import (
    BOOKABLE_LEVELS,
    DEFAULT_TOP_CONDITIONS,
    BookingConversion,
    BookingFact,
    CancellationFact,
    LevelConversion,
    NamedCount,
    StageLatency,
    TriageFact,
    TriageSummary,
    TurnFact,
    VoiceLatency,
    VoiceStage,
    Window,
    by_level_most_urgent_first,
    readable_name,
)

_IN_WINDOW = (
    "($1::timestamptz IS NULL OR {column} >= $1) AND ($2::timestamptz IS NULL OR {column} < $2)"
)

# Stage n is the sum of the first n measured parts: each is timed from the end of speech.
_STAGE_SECONDS = {
    VoiceStage.END_OF_SPEECH_TO_FINAL_TRANSCRIPT: "stt_seconds",
    VoiceStage.END_OF_SPEECH_TO_FIRST_REPLY_TEXT: "stt_seconds + reasoning_seconds",
    VoiceStage.END_OF_SPEECH_TO_FIRST_REPLY_AUDIO: (
        "stt_seconds + reasoning_seconds + tts_first_audio_seconds"
    ),
}


class PostgresAnalyticsStore:
    """Stores analytics facts once each and answers the admin panel's reports."""

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool

    async def add_triage(self, fact: TriageFact) -> bool:
        """Store a completed triage; False when it was already stored."""
        status = await self._pool.execute(
            "INSERT INTO triage_outcomes "
            "(assessment_id, event_id, occurred_at, level, top_condition_id, red_flags) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (assessment_id) DO NOTHING",
            fact.assessment_id,
            fact.event_id,
            fact.occurred_at,
            fact.level.value,
            fact.top_condition_id,
            list(fact.red_flags),
        )
        return _inserted(status)

    async def add_booking(self, fact: BookingFact) -> bool:
        """Store a booked appointment; False when it was already stored."""
        status = await self._pool.execute(
            "INSERT INTO bookings "
            "(appointment_id, event_id, booked_at, triage_assessment_id, urgency) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (appointment_id) DO NOTHING",
            fact.appointment_id,
            fact.event_id,
            fact.booked_at,
            fact.triage_assessment_id,
            fact.urgency.value if fact.urgency is not None else None,
        )
        return _inserted(status)

    async def add_cancellation(self, fact: CancellationFact) -> bool:
        """Store a cancellation; False when it was already stored."""
        status = await self._pool.execute(
            "INSERT INTO cancellations (appointment_id, event_id, cancelled_at, reason) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (appointment_id) DO NOTHING",
            fact.appointment_id,
            fact.event_id,
            fact.cancelled_at,
            fact.reason,
        )
        return _inserted(status)

    async def add_turn(self, fact: TurnFact) -> bool:
        """Store one voice turn's latencies; False when it was already stored."""
        status = await self._pool.execute(
            "INSERT INTO voice_turns (event_id, occurred_at, session_id, turn_index, "
            "stt_seconds, reasoning_seconds, tts_first_audio_seconds, interrupted) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING",
            fact.event_id,
            fact.occurred_at,
            fact.session_id,
            fact.turn_index,
            fact.stt_seconds,
            fact.reasoning_seconds,
            fact.tts_first_audio_seconds,
            fact.interrupted,
        )
        return _inserted(status)

    async def triage_summary(
        self, window: Window, *, top_conditions: int = DEFAULT_TOP_CONDITIONS
    ) -> TriageSummary:
        """Count assessments per level, top conditions and red flags in ``window``."""
        where = _IN_WINDOW.format(column="occurred_at")
        bounds = (window.start, window.end)
        async with self._pool.acquire() as connection:
            levels = await connection.fetch(
                f"SELECT level, count(*) AS n FROM triage_outcomes WHERE {where} GROUP BY level",  # noqa: S608 - fixed SQL
                *bounds,
            )
            conditions = await connection.fetch(
                "SELECT top_condition_id AS id, count(*) AS n FROM triage_outcomes "  # noqa: S608
                f"WHERE {where} AND top_condition_id IS NOT NULL "
                "GROUP BY top_condition_id ORDER BY n DESC, top_condition_id LIMIT $3",
                *bounds,
                top_conditions or DEFAULT_TOP_CONDITIONS,
            )
            flags = await connection.fetch(
                "SELECT flag AS id, count(*) AS n "  # noqa: S608 - fixed SQL
                "FROM triage_outcomes, unnest(red_flags) AS flag "
                f"WHERE {where} GROUP BY flag ORDER BY n DESC, flag",
                *bounds,
            )
        counts = {UrgencyLevel(row["level"]): int(row["n"]) for row in levels}
        return TriageSummary(
            total_assessments=sum(counts.values()),
            by_level=by_level_most_urgent_first(counts),
            top_conditions=tuple(_named(row) for row in conditions),
            red_flags=tuple(_named(row) for row in flags),
        )

    async def booking_conversion(self, window: Window) -> BookingConversion:
        """Measure how many bookable assessments in ``window`` led to a booking."""
        where = _IN_WINDOW.format(column="t.occurred_at")
        bounds = (window.start, window.end)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT t.level, count(*) AS assessments, "  # noqa: S608 - fixed SQL
                "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM bookings b "
                "WHERE b.triage_assessment_id = t.assessment_id)) AS booked "
                f"FROM triage_outcomes t WHERE {where} AND t.level = ANY($3::text[]) "
                "GROUP BY t.level",
                *bounds,
                [level.value for level in BOOKABLE_LEVELS],
            )
            cancelled = await connection.fetchval(
                "SELECT count(*) FROM cancellations WHERE "  # noqa: S608 - fixed SQL
                + _IN_WINDOW.format(column="cancelled_at"),
                *bounds,
            )
        found = {UrgencyLevel(row["level"]): row for row in rows}
        return BookingConversion(
            by_level=tuple(
                LevelConversion(
                    level, int(found[level]["assessments"]), int(found[level]["booked"])
                )
                for level in BOOKABLE_LEVELS
                if level in found
            ),
            cancelled=int(cancelled or 0),
        )

    async def voice_latency(self, window: Window) -> VoiceLatency:
        """Return p50/p95/p99 of each stage over the turns in ``window``."""
        where = _IN_WINDOW.format(column="occurred_at")
        selects = ", ".join(
            f"percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY {expression}) "
            f"AS s{stage.value}"
            for stage, expression in _STAGE_SECONDS.items()
        )
        row = await self._pool.fetchrow(
            f"SELECT count(*) AS n, {selects} FROM voice_turns WHERE {where}",  # noqa: S608
            window.start,
            window.end,
        )
        count = int(row["n"]) if row is not None else 0
        if row is None or count == 0:
            return VoiceLatency()
        stages = []
        for stage in _STAGE_SECONDS:
            p50, p95, p99 = row[f"s{stage.value}"]
            stages.append(StageLatency(stage, count, float(p50), float(p95), float(p99)))
        return VoiceLatency(tuple(stages))


def _named(row: asyncpg.Record) -> NamedCount:
    identifier = str(row["id"])
    return NamedCount(id=identifier, name=readable_name(identifier), count=int(row["n"]))


def _inserted(status: str) -> bool:
    return status.endswith(" 1")


__all__ = ["PostgresAnalyticsStore"]
