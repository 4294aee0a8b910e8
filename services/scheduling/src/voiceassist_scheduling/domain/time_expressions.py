"""Turn what a patient says about *when* ("tomorrow after three") into a bookable window.

The voice dialog hears free speech, but slot search needs a UTC interval. Calendar dates
("tomorrow", "mardi prochain", "le 28 mars", "in two hours") are read by dateparser, a
maintained multilingual library; the clinic-specific vocabulary (parts of the day, "after/before
X", "as soon as possible") is small data below, so adding a phrase or a language is a table edit.
Everything is resolved on the practice's wall clock with zoneinfo (so daylight-saving days have
23 or 25 hours) and returned in UTC. Pure: no I/O, no wall clock; ``now`` is injected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from dateparser import parse as dateparser_parse  # type: ignore[import-untyped]
from dateparser.search import search_dates  # type: ignore[import-untyped]

Language = Literal["en", "fr"]
SUPPORTED_LANGUAGES: Final[tuple[Language, ...]] = ("en", "fr")

# Parts of the day as the clinic understands them, in local hours [start, end).
DAY_PARTS: Final[dict[str, tuple[int, int]]] = {
    "morning": (8, 12),
    "afternoon": (12, 17),
    "evening": (17, 20),
}

# Phrases are written case- and accent-folded (see _fold); longest phrase wins.
DAY_PART_WORDS: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "morning": "morning",
        "afternoon": "afternoon",
        "evening": "evening",
        "tonight": "evening",
        "after work": "evening",
    },
    "fr": {
        "matin": "morning",
        "matinee": "morning",
        "apres-midi": "afternoon",
        "apres midi": "afternoon",
        "aprem": "afternoon",
        "soir": "evening",
        "soiree": "evening",
        "ce soir": "evening",
    },
}

# Words that pin a part of the day to today ("this afternoon") instead of the next one.
TODAY_WORDS: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("this", "tonight"),
    "fr": ("ce", "cet", "cette"),
}

# "As soon as possible": the earliest free slot from now, searched over a bounded horizon.
ASAP_WORDS: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("as soon as possible", "asap", "earliest possible", "right away", "soonest"),
    "fr": ("le plus tot possible", "des que possible", "au plus vite", "au plus tot"),
}
ASAP_HORIZON: Final = timedelta(days=7)

# Relations to a clock time: after X -> [X, end); before X -> [start, X); at X -> [X, X+1h).
RELATION_WORDS: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "after": "after",
        "from": "after",
        "later than": "after",
        "before": "before",
        "by": "before",
        "earlier than": "before",
        "at": "at",
        "around": "at",
        "about": "at",
    },
    "fr": {
        "apres": "after",
        "a partir de": "after",
        "des": "after",
        "plus tard que": "after",
        "avant": "before",
        "a": "at",
        "vers": "at",
        "aux alentours de": "at",
    },
}
AT_WINDOW: Final = timedelta(hours=1)

HOUR_WORDS: Final[dict[Language, dict[str, int]]] = {
    "en": {
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "eleven": 11,
        "twelve": 12,
        "noon": 12,
        "midday": 12,
        "lunch": 12,
        "lunchtime": 12,
    },
    "fr": {
        "une": 1,
        "deux": 2,
        "trois": 3,
        "quatre": 4,
        "cinq": 5,
        "six": 6,
        "sept": 7,
        "huit": 8,
        "neuf": 9,
        "dix": 10,
        "onze": 11,
        "douze": 12,
        "treize": 13,
        "quatorze": 14,
        "quinze": 15,
        "seize": 16,
        "dix-sept": 17,
        "dix-huit": 18,
        "dix-neuf": 19,
        "vingt": 20,
        "midi": 12,
    },
}
# A bare "after three" in a clinic means 15:00, not 03:00: hours below this are afternoon.
FIRST_MORNING_HOUR: Final = 8

# "in two hours" / "dans deux heures": dateparser computes the offset, we apply it in UTC.
DURATION_PATTERN: Final = re.compile(
    r"\b(?:in|dans)\s+(?:\S+\s+)?(?:an?\s+|une?\s+)?(?:hours?|minutes?|mins?|heures?)\b"
)

WEEKDAY_NAMES: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
# Words only French speakers use, to pick the language when the dialog does not say it.
FRENCH_MARKERS: Final[tuple[str, ...]] = (
    "demain",
    "apres-demain",
    "aujourd'hui",
    "prochain",
    "prochaine",
    "dans",
    "avant",
    "apres",
    "vers",
    "heures",
    "midi",
    "semaine",
    "le",
    "la",
)
ASAP_DESCRIPTION: Final[dict[Language, str]] = {
    "en": "as soon as possible",
    "fr": "le plus tôt possible",
}


@dataclass(frozen=True)
class TimeWindow:
    """A window the patient asked for, ready for slot search.

    ``start``/``end`` are aware UTC datetimes; ``span`` is the (start, end) character range of
    the understood words in the original text; ``description`` reads the window back in the
    patient's language, on the practice's clock, for confirmation.
    """

    start: datetime
    end: datetime
    span: tuple[int, int]
    description: str
    language: Language
    as_soon_as_possible: bool = False


def _fold(text: str) -> str:
    """Lower-case and strip accents one character at a time, so offsets match the input."""
    folded = []
    for char in text:
        base = unicodedata.normalize("NFD", char)[0].lower()[:1] or " "
        folded.append("'" if base in "\u2019`" else base)
    return "".join(folded)


def _alternation(phrases: list[str]) -> str:
    ordered = sorted(phrases, key=len, reverse=True)
    return "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ordered)


def _find_phrase(folded: str, phrases: list[str]) -> re.Match[str] | None:
    if not phrases:
        return None
    return re.search(rf"(?<![\w-])(?:{_alternation(phrases)})(?![\w-])", folded)


def _hour_pattern(language: Language) -> str:
    words = _alternation(list(HOUR_WORDS[language]))
    return (
        rf"(?:(?P<h>\d{{1,2}})(?:\s*(?:h|:)\s*(?P<m>\d{{2}})?)?|(?P<w>{words}))"
        r"(?:\s*(?:heures?|o'clock|h))?"
        r"(?:\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?!\w))?"
    )


def _clock_time(match: re.Match[str], language: Language) -> time | None:
    if match.group("w"):
        hour = HOUR_WORDS[language][re.sub(r"\s+", " ", match.group("w"))]
        minute = 0
    else:
        hour, minute = int(match.group("h")), int(match.group("m") or 0)
    ampm = (match.group("ampm") or "").replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    elif not ampm and hour < FIRST_MORNING_HOUR:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Wall-clock time in the practice, in UTC; a time skipped by DST moves forward."""
    wall = datetime.combine(day, at, tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone).astimezone(UTC)


def _day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return _local(day, time(0), zone), _local(day + timedelta(days=1), time(0), zone)


def _detect_language(folded: str, language: str | None) -> Language:
    if language:
        code = language.lower()[:2]
        return "fr" if code == "fr" else "en"
    french = [*DAY_PART_WORDS["fr"], *ASAP_WORDS["fr"], *WEEKDAY_NAMES["fr"], *FRENCH_MARKERS]
    return "fr" if _find_phrase(folded, french) else "en"


def _describe(start: datetime, end: datetime, zone: ZoneInfo, language: Language) -> str:
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    weekday = WEEKDAY_NAMES[language][local_start.weekday()]
    end_text = "24:00" if local_end.time() == time(0) else f"{local_end:%H:%M}"
    if language == "fr":
        day_text = f"{local_start.day:d}/{local_start.month:02d}"
        return f"{weekday} {day_text} de {local_start:%H:%M} à {end_text}"
    return f"{weekday} {local_start:%Y-%m-%d} from {local_start:%H:%M} to {end_text}"


def resolve_time_expression(
    text: str, *, now: datetime, timezone: str, language: str | None = None
) -> TimeWindow | None:
    """Resolve a spoken time preference to a UTC window in the practice's timezone.

    ``now`` must be timezone-aware. Returns None when nothing time-like is understood or the
    window lies wholly in the past ("this morning" said in the afternoon).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)
    now = now.astimezone(UTC)
    local_now = now.astimezone(zone)
    folded = _fold(text)
    lang = _detect_language(folded, language)
    spans: list[tuple[int, int]] = []

    asap = _find_phrase(folded, list(ASAP_WORDS[lang]))
    if asap:
        return TimeWindow(now, now + ASAP_HORIZON, asap.span(), ASAP_DESCRIPTION[lang], lang, True)

    base = local_now.replace(tzinfo=None)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}
    duration = DURATION_PATTERN.search(folded)
    if duration:
        parsed = dateparser_parse(
            text[duration.start() : duration.end()], languages=[lang], settings=settings
        )
        if isinstance(parsed, datetime) and parsed > base:
            start = now + (parsed - base)
            end = start + AT_WINDOW
            return TimeWindow(start, end, duration.span(), _describe(start, end, zone, lang), lang)

    remaining = folded

    def consume(match: re.Match[str]) -> None:
        nonlocal remaining
        spans.append(match.span())
        remaining = (
            remaining[: match.start()]
            + " " * (match.end() - match.start())
            + (remaining[match.end() :])
        )

    part_hours: tuple[int, int] | None = None
    part = _find_phrase(remaining, list(DAY_PART_WORDS[lang]))
    if part:
        part_hours = DAY_PARTS[DAY_PART_WORDS[lang][re.sub(r"\s+", " ", part.group())]]
        consume(part)

    relation_kind: str | None = None
    clock: time | None = None
    relation = re.search(
        rf"(?<![\w-])(?P<rel>{_alternation(list(RELATION_WORDS[lang]))})\s+{_hour_pattern(lang)}"
        r"(?![\w-])",
        remaining,
    )
    if relation:
        clock = _clock_time(relation, lang)
        relation_kind = RELATION_WORDS[lang][re.sub(r"\s+", " ", relation.group("rel"))]
        if clock is not None:
            consume(relation)

    today_marker = _find_phrase(remaining, list(TODAY_WORDS[lang]))
    day: date | None = None
    found = search_dates(remaining, languages=[lang], settings=settings) or []
    for phrase, value in found:
        offset = remaining.find(_fold(phrase))
        if offset < 0:
            continue
        # search_dates mis-reads some phrases ("the day after tomorrow"); parse re-reads exactly.
        exact = dateparser_parse(phrase, languages=[lang], settings=settings)
        day = (exact if isinstance(exact, datetime) else value).date()
        spans.append((offset, offset + len(phrase)))
        break
    if today_marker and day is None:
        spans.append(today_marker.span())
        day = local_now.date()

    if not spans:
        return None
    explicit_day = day is not None
    day = day or local_now.date()

    def window_on(on: date) -> tuple[datetime, datetime]:
        start, end = _day_bounds(on, zone)
        if part_hours:
            start, end = (
                _local(on, time(part_hours[0]), zone),
                _local(on, time(part_hours[1]), zone),
            )
        if clock is not None and relation_kind == "after":
            start = max(start, _local(on, clock, zone))
        elif clock is not None and relation_kind == "before":
            end = min(end, _local(on, clock, zone))
        elif clock is not None:
            start = _local(on, clock, zone)
            end = start + AT_WINDOW
        return max(start, now), end

    start, end = window_on(day)
    if end <= start and not explicit_day:
        # A bare "morning" said after the morning means tomorrow's.
        start, end = window_on(day + timedelta(days=1))
    if end <= start:
        return None
    span = (min(s for s, _ in spans), max(e for _, e in spans))
    return TimeWindow(start, end, span, _describe(start, end, zone, lang), lang)
