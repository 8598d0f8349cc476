"""Headline CSV reading: time zones, day-less dates, ticker filter, and the real files."""

import pandas as pd
import pytest

from stockpipe import columns as col
from stockpipe.errors import PipelineError
from stockpipe.news import (
    clean_headline,
    combine_news,
    coverage,
    empty_news,
    headline_key,
    news_for,
    news_frame,
    parse_timestamps,
    read_news_csv,
)

NEW_YORK = "America/New_York"


def write(tmp_path, text, name="news.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_parse_timestamps_by_shape():
    values = pd.Series([
        "2020-06-05 10:30:00-04:00",  # offset kept: 14:30 UTC
        "2020-06-05T14:30:00Z",  # already UTC
        "2020-06-05 17:00",  # no offset: New York time in June is UTC-4
        "2020-01-06 09:00",  # and UTC-5 in January
        "2020-06-05",  # date only: midnight in New York
        "18-Jul-20",  # the Guardian's day-month-year
        "Jul-18",  # no day: refused rather than read as 1 July
        "not a date",
        None,
    ])

    parsed, unreadable = parse_timestamps(values, NEW_YORK)

    assert parsed.iloc[:6].tolist() == [
        utc("2020-06-05 14:30"), utc("2020-06-05 14:30"), utc("2020-06-05 21:00"), utc("2020-01-06 14:00"),
        utc("2020-06-05 04:00"), utc("2020-07-18 04:00"),
    ]
    assert parsed.iloc[6:].isna().all()
    assert unreadable.tolist() == [False] * 6 + [True] * 3


def test_parse_timestamps_uses_the_given_zone():
    parsed, _ = parse_timestamps(pd.Series(["2020-06-05 09:00"]), "Europe/London")

    assert parsed.iloc[0] == utc("2020-06-05 08:00")


def test_parse_timestamps_reads_each_rows_zone_and_guesses_none():
    values = pd.Series([
        "2018-01-02 22:00 UTC",
        "Tue, 02 Jan 2018 22:00:00 GMT",  # RFC 822, as feeds write it
        "Tue, 02 Jan 2018 22:00:00 +0100",  # 21:00 UTC
        "2018-01-02 10:00 PM UTC",
        "2018-01-03",  # date only: midnight in New York, UTC-5 in January
        "2018-01-03 10:00",  # no zone: New York time
        "2018-01-02 10:00 PST",  # a zone name: not read as New York time
        "2018-01-02 10:00 GMT+01:00",  # dateutil would read it as UTC-1
    ])

    parsed, unreadable = parse_timestamps(values, NEW_YORK)

    assert parsed.iloc[:6].tolist() == [
        utc("2018-01-02 22:00"), utc("2018-01-02 22:00"), utc("2018-01-02 21:00"), utc("2018-01-02 22:00"),
        utc("2018-01-03 05:00"), utc("2018-01-03 15:00"),
    ]
    assert unreadable.tolist() == [False] * 6 + [True] * 2


def test_read_file_with_utc_times_and_dates_alone(tmp_path):
    path = write(tmp_path, (
        "date,headline\n"
        "2018-01-02 22:00 UTC,a\n"
        '"Tue, 02 Jan 2018 23:00:00 GMT",b\n'
        "2018-01-03,c\n"
        "2018-01-03 10:00,d\n"
    ))

    news, counts = read_news_csv(path, ticker=None, timezone=NEW_YORK)

    assert news[col.HEADLINE].tolist() == ["a", "b", "c", "d"]
    assert news[col.TIMESTAMP].tolist() == [utc("2018-01-02 22:00"), utc("2018-01-02 23:00"),
                                            utc("2018-01-03 05:00"), utc("2018-01-03 15:00")]
    assert counts["rows_bad_date"] == 0


def test_file_with_zone_names_is_refused(tmp_path):
    path = write(tmp_path, "date,headline\n2018-01-02 22:00 UTC,a\n2018-01-02 10:00 PST,b\n2018-01-03 09:00 EST,c\n")

    with pytest.raises(PipelineError, match=(
        r"^\S*news\.csv: row 3: column date has the time '2018-01-02 10:00 PST', whose zone 'PST' gives no UTC "
        r"offset for sure \(1 row in all\); write the times with an offset such as -05:00, or in UTC$"
    )):
        read_news_csv(path, ticker=None, timezone=NEW_YORK)


def test_us_eastern_zone_names_are_read_in_new_york_time():
    values = pd.Series([
        " 7:51  PM ET Fri, 17 July 2020",  # as CNBC writes it: 19:51 EDT is 23:51 UTC
        "2020-07-17 10:00 EDT",
        "Jan 17, 2020 9:30 AM EST",  # winter: UTC-5
        "Jul 17, 2020 9:30 AM EST",  # outlets write EST all year: New York time, UTC-4 in July
        "2018-01-02 10:00 CST",  # other names stay refused
    ])

    parsed, unreadable = parse_timestamps(values, "Europe/London")

    assert parsed.iloc[:4].tolist() == [utc("2020-07-17 23:51"), utc("2020-07-17 14:00"), utc("2020-01-17 14:30"),
                                        utc("2020-07-17 13:30")]
    assert unreadable.tolist() == [False] * 4 + [True]


def test_read_long_file_sorts_counts_and_fills_ticker(tmp_path):
    path = write(tmp_path, (
        "Time,Headlines\n"
        "18-Jul-20,Later headline\n"
        "Jul-18,A headline with no day\n"
        "17-Jul-20,  Earlier headline  \n"
        "17-Jul-20,\n"
    ))

    news, counts = read_news_csv(path, ticker="^GSPC", timezone=NEW_YORK)

    assert news[col.HEADLINE].tolist() == ["Earlier headline", "Later headline"]
    assert news[col.TIMESTAMP].tolist() == [utc("2020-07-17 04:00"), utc("2020-07-18 04:00")]
    assert news[col.TICKER].tolist() == ["^GSPC", "^GSPC"]
    assert str(news[col.TIMESTAMP].dtype) == "datetime64[ns, UTC]"
    assert counts == {"rows_read": 4, "rows_malformed": 0, "rows_bad_date": 1, "rows_future_date": 0,
                      "rows_empty_headline": 1, "rows_duplicate": 0, "headlines": 2, "encoding": "utf-8",
                      "delimiter": ","}


def test_ticker_column_filters_case_insensitively(tmp_path):
    path = write(tmp_path, (
        ",title,date,stock\n"
        "0,Apple news,2020-06-05 10:30:00-04:00,AAPL\n"
        "1,Agilent news,2020-06-05 11:00:00-04:00,A\n"
        "2,More Apple news,2020-06-04 16:30:00-04:00,AAPL\n"
    ))

    news, counts = read_news_csv(path, ticker="aapl", timezone=NEW_YORK)

    assert news[col.HEADLINE].tolist() == ["More Apple news", "Apple news"]
    # Labelled as asked (data.tickers' spelling), so the headlines reach that ticker's batch.
    assert news[col.TICKER].tolist() == ["aapl", "aapl"]
    assert counts == {"rows_read": 3, "rows_malformed": 0, "rows_other_tickers": 1, "rows_bad_date": 0,
                      "rows_future_date": 0, "rows_empty_headline": 0, "rows_duplicate": 0, "headlines": 2,
                      "encoding": "utf-8", "delimiter": ","}


def test_ticker_with_no_rows_lists_the_tickers_found(tmp_path):
    path = write(tmp_path, "title,date,stock\nx,2020-06-05,A\ny,2020-06-05,AAN\n")

    with pytest.raises(PipelineError, match=r"news\.csv: no headlines for ticker MSFT \(file has A, AAN, \.\.\.\)$"):
        read_news_csv(path, ticker="MSFT", timezone=NEW_YORK)


def test_file_without_a_headline_column(tmp_path):
    path = write(tmp_path, "date,body\n2020-06-05,text\n")

    with pytest.raises(PipelineError, match=(
        r"news\.csv: needs a time column \(timestamp/datetime/time/date\) and a headline column "
        r"\(headline/headlines/title\); found date, body$"
    )):
        read_news_csv(path, ticker=None, timezone=NEW_YORK)


def test_file_without_a_time_column(tmp_path):
    path = write(tmp_path, "title\nx\n")

    with pytest.raises(PipelineError, match=r"news\.csv: needs a time column .*; found title$"):
        read_news_csv(path, ticker=None, timezone=NEW_YORK)


def test_file_with_no_readable_dates(tmp_path):
    path = write(tmp_path, "Time,Headlines\nJul-18,x\nAug-18,y\n")

    with pytest.raises(PipelineError, match=(r"news\.csv: no usable headlines \(2 rows had unreadable dates, "
                                             r"0 future dates, 0 empty headlines\)$")):
        read_news_csv(path, ticker=None, timezone=NEW_YORK)


def test_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"absent\.csv: file not found$"):
        read_news_csv(tmp_path / "absent.csv", ticker=None, timezone=NEW_YORK)


def test_empty_news_has_the_columns_and_types():
    news = empty_news()

    assert list(news.columns) == [col.TIMESTAMP, col.HEADLINE, col.TICKER, col.SOURCE, col.PUBLISHER]
    assert len(news) == 0
    assert str(news[col.TIMESTAMP].dtype) == "datetime64[ns, UTC]"


def frame_of(source, *rows, publisher=None):
    """News of one source from (New York time, headline) pairs."""
    stamps = [pd.Timestamp(stamp, tz=NEW_YORK).tz_convert("UTC") for stamp, _ in rows]
    return news_frame(stamps, [headline for _, headline in rows], "AAPL", source, [publisher] * len(rows))


def test_combine_counts_a_story_from_two_sources_once():
    csv = frame_of("csv", ("2020-06-05 09:00", "Apple shares rise"), ("2020-06-05 10:00", "Apple shares rise"))
    google = frame_of("google_news",
                      ("2020-06-05 11:00", "APPLE SHARES RISE!"),  # same story, same session: dropped
                      ("2020-06-05 17:00", "Apple shares rise"),  # after the close: Monday's session, kept
                      ("2020-06-05 12:00", "Apple\u2019s new phone"), publisher="Reuters")
    yahoo = frame_of("yahoo_finance", ("2020-06-06 08:00", "apple shares rise"),  # Saturday: Monday, as Google's
                     ("2020-06-05 12:30", "Apple's new phone"))

    news, duplicates = combine_news([csv, google, yahoo], "XNYS")

    assert duplicates == 3
    # Repeats inside the csv source are the source's own data and stay.
    assert news[col.SOURCE].tolist() == ["csv", "csv", "google_news", "google_news"]
    assert news[col.HEADLINE].tolist() == ["Apple shares rise", "Apple shares rise", "Apple\u2019s new phone",
                                           "Apple shares rise"]
    assert news[col.TIMESTAMP].is_monotonic_increasing
    assert news[col.PUBLISHER].iloc[2] == "Reuters"
    assert list(news.columns) == col.NEWS_COLUMNS


def test_combine_nothing():
    news, duplicates = combine_news([empty_news()], "XNYS")

    assert news.empty and duplicates == 0


def test_headline_key_ignores_case_punctuation_and_spacing():
    keys = headline_key(pd.Series(["Apple\u2019s  shares RISE!", "apple's shares rise", "Apple shares rise"]))

    assert keys.tolist() == ["apple s shares rise", "apple s shares rise", "apple shares rise"]


@pytest.mark.parametrize(("raw", "clean"), [
    ("<b>Apple</b> beats &amp; raises", "Apple beats & raises"),
    ("Apple &lt;b&gt;beats&lt;/b&gt;", "Apple beats"),
    ("  Apple\n beats  ", "Apple beats"),
    (None, ""),
])
def test_clean_headline(raw, clean):
    assert clean_headline(raw) == clean


def test_coverage_reports_each_source_and_the_whole():
    csv = frame_of("csv", ("2020-06-05 09:00", "a"), ("2020-06-09 09:00", "b"))
    news, duplicates = combine_news([csv], "XNYS")

    report = coverage(["csv", "rss"], {"csv": csv, "google_news": empty_news()},
                      {"csv": {"rows_read": 3}, "google_news": {"requests": 1}}, news, duplicates)

    assert report == {
        "sources": ["csv", "rss"], "headlines": 2, "duplicates_dropped": 0, "first": "2020-06-05",
        "last": "2020-06-09",
        "by_source": {"csv": {"headlines": 2, "first": "2020-06-05", "last": "2020-06-09", "rows_read": 3},
                      "google_news": {"headlines": 0, "first": None, "last": None, "requests": 1}},
    }


def test_a_files_own_headline_count_does_not_replace_what_the_ticker_got():
    # The file held 10 usable headlines for every ticker; this ticker's table got 2 of them.
    csv = frame_of("csv", ("2020-06-05 09:00", "a"), ("2020-06-09 09:00", "b"))
    news, duplicates = combine_news([csv], "XNYS")

    report = coverage(["csv"], {"csv": csv}, {"csv": {"rows_read": 12, "headlines": 10}}, news, duplicates)

    assert report["by_source"]["csv"] == {"headlines": 2, "first": "2020-06-05", "last": "2020-06-09",
                                          "rows_read": 12, "file_headlines": 10}


def test_real_guardian_file(shared_data):
    news, counts = read_news_csv(shared_data / "news" / "guardian_headlines_2017_2020.csv", "^GSPC", NEW_YORK)

    # 17,800 rows, of which 40 are dated like "Jul-18" with no day.
    assert counts == {"rows_read": 17800, "rows_malformed": 0, "rows_bad_date": 40, "rows_future_date": 0,
                      "rows_empty_headline": 0, "rows_duplicate": 0, "headlines": 17760, "encoding": "utf-8",
                      "delimiter": ","}
    assert len(news) == 17760
    # Date-only values are midnight in New York (UTC-5 in December, UTC-4 in July).
    assert news[col.TIMESTAMP].iloc[0] == utc("2017-12-17 05:00")
    assert news[col.TIMESTAMP].iloc[-1] == utc("2020-07-18 04:00")
    assert news[col.TIMESTAMP].is_monotonic_increasing
    assert (news[col.TICKER] == "^GSPC").all()


def test_real_benzinga_file_filtered_to_aapl(shared_data):
    news, counts = read_news_csv(shared_data / "news" / "benzinga_headlines_A-ACAT_2009_2020.csv", "AAPL", NEW_YORK)

    # Two AAN headlines are broken across lines (an unquoted newline): four malformed rows.
    assert counts == {"rows_read": 9993, "rows_malformed": 4, "rows_other_tickers": 9520, "rows_bad_date": 0,
                      "rows_future_date": 0, "rows_empty_headline": 0, "rows_duplicate": 0, "headlines": 469,
                      "encoding": "utf-8", "delimiter": ","}
    assert (news[col.TICKER] == "AAPL").all()
    # First and last AAPL rows: 2020-03-09 12:00:00-04:00 and 2020-06-10 11:33:00-04:00.
    assert news[col.TIMESTAMP].iloc[0] == utc("2020-03-09 16:00")
    assert news[col.TIMESTAMP].iloc[-1] == utc("2020-06-10 15:33")


def test_news_for_takes_a_tickers_rows_in_any_case_and_spells_it_as_asked():
    news = news_frame(pd.to_datetime(["2020-06-05 14:00", "2020-06-05 15:00", "2020-06-08 14:00"], utc=True),
                      ["Apple up", "Microsoft down", "Apple again"], None, "csv", [None, None, None])
    news[col.TICKER] = pd.Series(["aapl", "MSFT", "AAPL"], dtype="string")

    apple = news_for(news, "AAPL")

    assert apple[col.HEADLINE].tolist() == ["Apple up", "Apple again"]
    assert apple[col.TICKER].tolist() == ["AAPL", "AAPL"]
    assert news_for(news, "KO").empty  # a ticker the file does not name gets no headlines, not an error


def test_news_for_gives_every_ticker_the_headlines_of_a_file_without_tickers():
    news = news_frame(pd.to_datetime(["2020-06-05 14:00"], utc=True), ["Markets rally"], None, "csv", [None])

    assert news_for(news, "KO")[col.TICKER].tolist() == ["KO"]
    assert news_for(news, "^GSPC")[col.HEADLINE].tolist() == ["Markets rally"]
