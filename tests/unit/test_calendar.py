"""Exchange sessions and the session a headline counts for, checked by hand on XNYS."""

import pandas as pd
import pytest

from stockpipe.calendar import get_calendar, session_of, sessions_after, sessions_between
from stockpipe.errors import PipelineError


def new_york(*texts):
    return pd.Series(pd.to_datetime(list(texts)).tz_localize("America/New_York"))


def days(*texts):
    return [pd.Timestamp(text) for text in texts]


@pytest.mark.parametrize(
    ("local_time", "session"),
    [
        ("2020-06-05 17:00", "2020-06-08"),  # Friday after the 16:00 close: Monday
        ("2020-06-05 15:59", "2020-06-05"),  # Friday before the close: Friday
        ("2020-06-05 16:00", "2020-06-05"),  # at the close still counts for the day
        ("2020-06-05 16:01", "2020-06-08"),  # a minute after: Monday
        ("2020-06-06 10:00", "2020-06-08"),  # Saturday: Monday
        ("2020-07-03 12:00", "2020-07-06"),  # Independence Day observed (Friday): Monday
        ("2020-11-27 13:00", "2020-11-27"),  # day after Thanksgiving closes at 13:00
        ("2020-11-27 13:30", "2020-11-30"),
    ],
)
def test_session_of_new_york_times(local_time, session):
    assert session_of(new_york(local_time), "XNYS").iloc[0] == pd.Timestamp(session)


def test_date_only_headline_counts_for_that_day():
    # Date-only headlines arrive as midnight, before that day's close.
    sessions = session_of(new_york("2020-06-05 00:00", "2020-07-03 00:00"), "XNYS")

    assert sessions.tolist() == days("2020-06-05", "2020-07-06")


def test_session_of_converts_other_zones():
    # 21:30 in London on Friday 5 June is 16:30 in New York: after the close.
    london = pd.Series([pd.Timestamp("2020-06-05 21:30", tz="Europe/London")])
    # 20:00 UTC is 16:00 in New York: exactly the close.
    at_close = pd.Series([pd.Timestamp("2020-06-05 20:00", tz="UTC")])

    assert session_of(london, "XNYS").iloc[0] == pd.Timestamp("2020-06-08")
    assert session_of(at_close, "XNYS").iloc[0] == pd.Timestamp("2020-06-05")


def test_session_of_keeps_the_index_and_gives_naive_dates():
    timestamps = new_york("2020-06-05 10:00", "2020-06-05 17:00")
    timestamps.index = [7, 3]

    sessions = session_of(timestamps, "XNYS")

    assert sessions.index.tolist() == [7, 3]
    assert sessions.name == "session"
    assert sessions.dt.tz is None


def test_session_of_empty():
    sessions = session_of(pd.Series([], dtype="datetime64[ns, UTC]"), "XNYS")

    assert sessions.empty


def test_session_of_beyond_the_calendar():
    with pytest.raises(PipelineError, match=r"timestamp 2200-01-02 .* is after the last session of the XNYS calendar"):
        session_of(pd.Series([pd.Timestamp("2200-01-02", tz="UTC")]), "XNYS")


def test_sessions_between_skips_weekend_and_holiday():
    sessions = sessions_between("XNYS", pd.Timestamp("2020-07-01"), pd.Timestamp("2020-07-08"))

    assert sessions.tolist() == days("2020-07-01", "2020-07-02", "2020-07-06", "2020-07-07", "2020-07-08")
    assert sessions.tz is None


def test_sessions_between_clips_to_the_calendars_last_session():
    # exchange_calendars knows sessions up to about a year from today.
    last = get_calendar("XNYS").last_session.tz_localize(None)

    sessions = sessions_between("XNYS", last - pd.Timedelta(days=6), last + pd.Timedelta(days=400))

    assert sessions.max() == last and len(sessions) <= 5
    assert sessions_between("XNYS", last + pd.Timedelta(days=1), last + pd.Timedelta(days=30)).empty


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("2020-07-02", ["2020-07-06", "2020-07-07", "2020-07-08"]),  # Thursday before the holiday
        ("2020-07-04", ["2020-07-06", "2020-07-07", "2020-07-08"]),  # a Saturday
        ("2020-06-05", ["2020-06-08", "2020-06-09", "2020-06-10"]),
    ],
)
def test_sessions_after(last, expected):
    assert sessions_after("XNYS", pd.Timestamp(last), 3).tolist() == days(*expected)


def test_sessions_after_the_end_of_the_calendar():
    with pytest.raises(PipelineError, match=r"^exchange calendar XNYS ends on \d{4}-\d{2}-\d{2}$"):
        sessions_after("XNYS", pd.Timestamp("2200-01-02"), 3)


def test_other_exchange_holidays():
    # 2020-12-28 was the London Boxing Day holiday (26 December fell on a Saturday).
    sessions = sessions_between("XLON", pd.Timestamp("2020-12-24"), pd.Timestamp("2020-12-30"))

    assert sessions.tolist() == days("2020-12-24", "2020-12-29", "2020-12-30")


def test_unknown_exchange():
    with pytest.raises(PipelineError, match=r"^params\.yaml: data\.exchange: unknown exchange 'XXXX' \(e\.g\. XNYS"):
        get_calendar("XXXX")


def test_data_before_1970_gets_a_calendar_from_its_own_year():
    # Black Monday and Tuesday, 1929. The NYSE also traded on Saturdays until 1952, which
    # exchange_calendars does not model: such rows are counted as off-calendar by clean.
    sessions = sessions_between("XNYS", pd.Timestamp("1929-10-25"), pd.Timestamp("1929-10-29"))
    assert [str(day.date()) for day in sessions] == ["1929-10-25", "1929-10-28", "1929-10-29"]


def test_exchange_without_old_holidays_says_how_far_back_it_goes():
    with pytest.raises(PipelineError, match=r"data\.exchange XSHG: The XSHG holidays are only recorded back to"):
        sessions_between("XSHG", pd.Timestamp("1950-01-03"), pd.Timestamp("1950-01-10"))
