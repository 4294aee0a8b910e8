"""What the patient says about when, and the window the slot search will look in."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from voiceassist_scheduling.domain.time_expressions import resolve_time_expression

PARIS = "Europe/Paris"
TORONTO = "America/Toronto"
# Tuesday 25 March 2025, 10:00 in Paris (CET, UTC+1).
TUESDAY_MORNING_PARIS = datetime(2025, 3, 25, 9, 0, tzinfo=UTC)


def local(dt: datetime, zone: str) -> tuple[str, str]:
    shown = dt.astimezone(ZoneInfo(zone))
    return f"{shown:%Y-%m-%d}", f"{shown:%H:%M}"


def window_in(
    text: str, zone: str, now: datetime, language: str | None = None
) -> tuple[tuple[str, str], tuple[str, str]]:
    window = resolve_time_expression(text, now=now, timezone=zone, language=language)
    assert window is not None, text
    assert window.start.tzinfo is UTC
    assert window.end.tzinfo is UTC
    return local(window.start, zone), local(window.end, zone)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("tomorrow after three", "en", (("2025-03-26", "15:00"), ("2025-03-27", "00:00"))),
        ("next Tuesday morning", "en", (("2025-04-01", "08:00"), ("2025-04-01", "12:00"))),
        ("this afternoon", "en", (("2025-03-25", "12:00"), ("2025-03-25", "17:00"))),
        ("Friday evening", "en", (("2025-03-28", "17:00"), ("2025-03-28", "20:00"))),
        ("in two hours", "en", (("2025-03-25", "12:00"), ("2025-03-25", "13:00"))),
        ("tomorrow at 9:30 am", "en", (("2025-03-26", "09:30"), ("2025-03-26", "10:30"))),
        ("Thursday before noon", "en", (("2025-03-27", "00:00"), ("2025-03-27", "12:00"))),
        ("mardi prochain le matin", "fr", (("2025-04-01", "08:00"), ("2025-04-01", "12:00"))),
        ("demain après 15 h", "fr", (("2025-03-26", "15:00"), ("2025-03-27", "00:00"))),
        ("cet après-midi", "fr", (("2025-03-25", "12:00"), ("2025-03-25", "17:00"))),
        ("vendredi soir", "fr", (("2025-03-28", "17:00"), ("2025-03-28", "20:00"))),
        ("dans deux heures", "fr", (("2025-03-25", "12:00"), ("2025-03-25", "13:00"))),
        ("après-demain vers midi", "fr", (("2025-03-27", "12:00"), ("2025-03-27", "13:00"))),
    ],
)
def test_spoken_preferences_become_windows_on_the_practice_clock(
    text: str, language: str, expected: tuple[tuple[str, str], tuple[str, str]]
) -> None:
    assert window_in(text, PARIS, TUESDAY_MORNING_PARIS, language) == expected
    # The language is recognised from the words when the dialog does not say it.
    assert window_in(text, PARIS, TUESDAY_MORNING_PARIS) == expected


def test_next_tuesday_said_on_a_tuesday_is_a_week_later() -> None:
    start, _ = window_in("next Tuesday", PARIS, TUESDAY_MORNING_PARIS)
    assert start == ("2025-04-01", "00:00")
    start, _ = window_in("mardi prochain", PARIS, TUESDAY_MORNING_PARIS)
    assert start == ("2025-04-01", "00:00")


def test_as_soon_as_possible_starts_now_in_both_languages() -> None:
    for text in ("as soon as possible", "le plus tôt possible", "Dès que possible svp"):
        window = resolve_time_expression(text, now=TUESDAY_MORNING_PARIS, timezone=PARIS)
        assert window is not None
        assert window.as_soon_as_possible
        assert window.start == TUESDAY_MORNING_PARIS
        assert window.end > window.start


def test_a_window_never_starts_in_the_past() -> None:
    # "this morning" at 10:00 only offers what is left of the morning.
    assert window_in("this morning", PARIS, TUESDAY_MORNING_PARIS)[0] == ("2025-03-25", "10:00")


def test_a_part_of_the_day_already_over_is_not_offered_today() -> None:
    evening = datetime(2025, 3, 25, 15, 0, tzinfo=UTC)  # 16:00 in Paris
    assert resolve_time_expression("this morning", now=evening, timezone=PARIS) is None
    # A bare "morning" then means tomorrow's.
    assert window_in("morning", PARIS, evening)[0] == ("2025-03-26", "08:00")


@pytest.mark.parametrize("text", ["", "I have a headache", "j'ai mal au ventre", "yesterday"])
def test_nothing_understood_gives_no_window(text: str) -> None:
    assert resolve_time_expression(text, now=TUESDAY_MORNING_PARIS, timezone=PARIS) is None


def test_span_and_description_let_the_dialog_read_back_what_it_understood() -> None:
    text = "Could I come tomorrow after three please"
    window = resolve_time_expression(text, now=TUESDAY_MORNING_PARIS, timezone=PARIS)
    assert window is not None
    assert text[window.span[0] : window.span[1]] == "tomorrow after three"
    assert window.description == "Wednesday 2025-03-26 from 15:00 to 24:00"
    french = resolve_time_expression("demain après 15 h", now=TUESDAY_MORNING_PARIS, timezone=PARIS)
    assert french is not None
    assert french.description == "mercredi 26/03 de 15:00 à 24:00"


def test_toronto_practice_resolves_on_its_own_clock() -> None:
    now = datetime(2025, 3, 25, 14, 0, tzinfo=UTC)  # Tuesday 10:00 EDT
    window = resolve_time_expression("next Tuesday morning", now=now, timezone=TORONTO)
    assert window is not None
    assert window.start == datetime(2025, 4, 1, 12, 0, tzinfo=UTC)
    assert window.end == datetime(2025, 4, 1, 16, 0, tzinfo=UTC)


def test_spring_forward_day_in_paris_is_23_hours_and_mornings_keep_local_time() -> None:
    saturday = datetime(2025, 3, 29, 9, 0, tzinfo=UTC)  # clocks go forward Sunday 02:00
    day = resolve_time_expression("tomorrow", now=saturday, timezone=PARIS)
    assert day is not None
    assert day.end - day.start == timedelta(hours=23)
    morning = resolve_time_expression("demain matin", now=saturday, timezone=PARIS)
    assert morning is not None
    assert morning.start == datetime(2025, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST


def test_in_two_hours_across_the_dst_jump_is_two_real_hours() -> None:
    just_after_midnight = datetime(2025, 3, 29, 23, 30, tzinfo=UTC)  # 00:30 CET
    window = resolve_time_expression("in two hours", now=just_after_midnight, timezone=PARIS)
    assert window is not None
    assert window.start == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert local(window.start, PARIS) == ("2025-03-30", "03:30")


def test_fall_back_day_in_toronto_is_25_hours_and_mornings_keep_local_time() -> None:
    saturday = datetime(2025, 11, 1, 14, 0, tzinfo=UTC)  # 10:00 EDT; clocks go back Sunday
    day = resolve_time_expression("demain", now=saturday, timezone=TORONTO)
    assert day is not None
    assert day.end - day.start == timedelta(hours=25)
    morning = resolve_time_expression("tomorrow morning", now=saturday, timezone=TORONTO)
    assert morning is not None
    assert morning.start == datetime(2025, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        resolve_time_expression("tomorrow", now=datetime(2025, 3, 25, 9), timezone=PARIS)
