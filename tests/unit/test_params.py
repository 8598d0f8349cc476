"""params.yaml validation: every bad value fails with one line naming the key."""

import datetime
from pathlib import Path

import numpy as np
import pytest
import talib

from stockpipe.errors import PipelineError
from stockpipe.params import FeaturesParams, Params, load_params, parse_params

ROOT = Path(__file__).resolve().parents[2]


def test_project_params_file_loads():
    """Whatever values an experiment applied (dvc exp apply), the project's file validates."""
    assert isinstance(load_params(ROOT / "params.yaml"), Params)


def test_empty_mapping_gives_the_defaults():
    assert parse_params({}) == Params()


def test_sections_are_frozen():
    params = parse_params({})

    with pytest.raises(Exception, match="frozen"):
        params.model.units = 8


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"unit": 4}}, r"unknown key 'model\.unit' \(did you mean 'model\.units'\?\)"),
        ({"modle": {}}, r"unknown key 'modle' \(did you mean 'model'\?\)"),
        ({"features": {"macd": {"fsat": 3}}},
         r"unknown key 'features\.macd\.fsat' \(did you mean 'features\.macd\.fast'\?\)"),
    ],
)
def test_unknown_key_suggests_the_closest_known_key(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"train": {"epochs": "many"}}, r"train\.epochs: Input should be a valid integer.*\(got 'many'\)"),
        ({"model": {"units": 4.5}}, r"model\.units: Input should be a valid integer.*\(got 4\.5\)"),
        ({"seed": None}, r"seed: Input should be a valid integer \(got None\)"),
        ({"data": None}, r"data: Input should be a valid dictionary"),
        ({"model": {"target": "price"}}, r"model\.target: Input should be 'log_return' or 'close' \(got 'price'\)"),
        ({"data": {"date_format": "ymd"}}, r"data\.date_format: Input should be 'auto', 'iso', 'dayfirst' or"),
        # The key names the list item, not pydantic's branch of `list or "all"` (list[constrained-str]).
        ({"data": {"tickers": ["AA PL"]}}, r"data\.tickers\.0: String should match pattern .* \(got 'AA PL'\)$"),
        ({"data": {"tickers": "AA PL"}}, r"data\.tickers\.0: String should match pattern .* \(got 'AA PL'\)$"),
        # A ticker names folders (models/tickers/batch_0/<ticker>/): "." or ".." would write elsewhere.
        ({"data": {"tickers": ["AAPL", ".."]}}, r"data\.tickers\.1: String should match pattern .* \(got '\.\.'\)$"),
        ({"data": {"tickers": ["A" * 21]}}, r"data\.tickers\.0: String should have at most 20 characters"),
        ({"data": {"tickers": 5}}, r"data\.tickers: Input should be a valid list \(got 5\)$"),
        ({"data": {"on_error": "ignore"}},
         r"data\.on_error: Input should be 'auto', 'stop' or 'skip' \(got 'ignore'\)"),
        ({"model": {"scope": "pooled"}}, r"model\.scope: Input should be 'ticker' or 'global' \(got 'pooled'\)"),
    ],
)
def test_wrong_type_or_value_names_key_and_value(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # YAML reads yes/no/on/off as booleans; pydantic alone would make `epochs: yes` one epoch.
        ({"train": {"epochs": True}}, r"train\.epochs: expected a number or text, not a YAML true/false"),
        ({"model": {"dropout": False}}, r"model\.dropout: expected a number or text, not a YAML true/false"),
        ({"features": {"sma_windows": [True, 5]}}, r"features\.sma_windows: expected a number or text"),
        ({"data": {"tickers": True}}, r"data\.tickers: expected a number or text, not a YAML true/false"),
        ({"data": {"tickers": ["AAPL", True]}}, r"data\.tickers: expected a number or text, not a YAML true/false"),
    ],
)
def test_yaml_booleans_are_refused(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"units": 0}}, r"model\.units: Input should be greater than or equal to 1 \(got 0\)"),
        ({"model": {"layers": 9}}, r"model\.layers: Input should be less than or equal to 8 \(got 9\)"),
        ({"model": {"dropout": 1.0}}, r"model\.dropout: Input should be less than 1 \(got 1\.0\)"),
        ({"split": {"test_size": 1.5}}, r"split\.test_size: Input should be less than 1 \(got 1\.5\)"),
        ({"split": {"val_size": 0}}, r"split\.val_size: Input should be greater than 0 \(got 0\)"),
        ({"train": {"learning_rate": 0}}, r"train\.learning_rate: Input should be greater than 0 \(got 0\)"),
        ({"predict": {"horizon": 0}}, r"predict\.horizon: Input should be greater than or equal to 1 \(got 0\)"),
        ({"clean": {"outlier_action": "clip"}}, r"clean\.outlier_action: Input should be 'keep' or 'drop'"),
        # TA-Lib's SUM, behind the OBV slope, refuses a 1-day window.
        ({"features": {"obv_window": 1}}, r"features\.obv_window: Input should be greater than or equal to 2"),
        # TA-Lib refuses a period above 100000 and a band width above 3e37 (TA_BAD_PARAM).
        ({"features": {"sma_windows": [10, 100_001]}},
         r"features\.sma_windows\.1: Input should be less than or equal to 100000 \(got 100001\)"),
        ({"features": {"ema_windows": [100_001]}}, r"features\.ema_windows\.0: Input should be less than or equal to"),
        ({"features": {"rsi_window": 100_001}}, r"features\.rsi_window: Input should be less than or equal to 100000"),
        ({"features": {"macd": {"slow": 100_001}}}, r"features\.macd\.slow: Input should be less than or equal to"),
        ({"features": {"macd": {"signal": 100_001}}}, r"features\.macd\.signal: Input should be less than or equal"),
        ({"features": {"bbands_window": 100_001}}, r"features\.bbands_window: Input should be less than or equal to"),
        ({"features": {"atr_window": 100_001}}, r"features\.atr_window: Input should be less than or equal to"),
        ({"features": {"obv_window": 100_001}}, r"features\.obv_window: Input should be less than or equal to"),
        ({"features": {"bbands_std": 1e38}},
         r"features\.bbands_std: Input should be less than or equal to 3e\+37, TA-Lib's limit \(got 1e\+38\)$"),
    ],
)
def test_out_of_range_names_key_value_and_bound(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"source": "csv"}}, r"data: data\.path must be set when data\.source is 'csv'"),
        ({"news": {"source": "csv"}}, r"news: news\.path must be set when news\.source includes 'csv'"),
        ({"split": {"test_size": 0.5, "val_size": 0.4}}, r"split: split\.test_size \+ split\.val_size must leave"),
        ({"features": {"macd": {"fast": 26, "slow": 12}}},
         r"features\.macd: features\.macd\.fast must be smaller than features\.macd\.slow"),
        ({"features": {"sma_windows": [1, 5]}},
         r"features: features\.sma_windows must hold windows of at least 2 days"),
        ({"features": {"ema_windows": []}}, r"features\.ema_windows: List should have at least 1 item"),
        # Each window is one column of the features table, which cannot hold a column twice.
        ({"features": {"sma_windows": [10, 10]}},
         r"features: features\.sma_windows repeats 10; list each window once$"),
        ({"features": {"ema_windows": [26, 12, 26, 12.0]}},
         r"features: features\.ema_windows repeats 12, 26; list each window once$"),
    ],
)
def test_rules_across_keys_name_the_keys(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


def test_csv_source_with_a_path_is_accepted():
    # One ticker needs no {ticker} in its path.
    params = parse_params({"data": {"source": "csv", "path": "data/external/aapl.csv", "tickers": "AAPL"}})

    assert params.data.path == "data/external/aapl.csv"
    assert params.data.tickers == ["AAPL"]
    assert params.data.path_for("AAPL") == "data/external/aapl.csv"


def test_start_and_end_accept_unquoted_yaml_dates(tmp_path):
    # YAML reads `start: 2020-01-02` as a date, not text; the loader keeps it as YYYY-MM-DD.
    path = tmp_path / "params.yaml"
    path.write_text("data:\n  start: 2020-01-02\n  end: '2020-12-31'\n", encoding="utf-8")

    data = load_params(path).data

    assert (data.start, data.end) == ("2020-01-02", "2020-12-31")
    assert parse_params({"data": {"start": datetime.date(2019, 3, 4)}}).data.start == "2019-03-04"


@pytest.mark.parametrize("value", ["2020-13-01", "1/2/2020", "20200102", "2020-02-30"])
def test_start_must_be_a_real_iso_date(value):
    with pytest.raises(PipelineError, match=rf"data\.start: expected a date written YYYY-MM-DD \(got '{value}'\)"):
        parse_params({"data": {"start": value}})


def test_numbers_written_as_yaml_text_still_read():
    # PyYAML reads 1e-3 (no dot) as a string: it must still be a learning rate.
    assert parse_params({"train": {"learning_rate": "1e-3"}}).train.learning_rate == 0.001


def test_non_mapping_is_refused():
    with pytest.raises(PipelineError, match=r"^params\.yaml: expected a mapping of sections, got list$"):
        parse_params([1, 2])


def test_error_names_the_file_it_came_from(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text("model:\n  units: 0\n", encoding="utf-8")

    with pytest.raises(PipelineError, match=rf"^{path}: model\.units: "):
        load_params(path)


def test_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"nope\.yaml: file not found$"):
        load_params(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("model: [units\n", encoding="utf-8")

    with pytest.raises(PipelineError, match=r"params\.yaml: line 2: not valid YAML \(expected ',' or '\]'"):
        load_params(path)


def test_errors_are_one_line():
    with pytest.raises(PipelineError) as error:
        parse_params({"split": {"test_size": 0.5, "val_size": 0.4}})

    assert "\n" not in str(error.value)


def test_the_features_bounds_are_talibs():
    # The bounds themselves run; one past them TA-Lib refuses, which the features stage would
    # otherwise report as a bare "TA_BAD_PARAM".
    close = np.linspace(10.0, 20.0, 30)
    params = parse_params({"features": {"sma_windows": [100_000], "bbands_std": 3e37,
                                        "macd": {"slow": 100_000, "signal": 100_000}}}).features

    assert np.isnan(talib.SMA(close, timeperiod=params.sma_windows[0])).all()
    talib.BBANDS(close, timeperiod=5, nbdevup=params.bbands_std, nbdevdn=params.bbands_std)
    talib.MACD(close, fastperiod=12, slowperiod=params.macd.slow, signalperiod=params.macd.signal)
    with pytest.raises(Exception, match="TA_BAD_PARAM"):
        talib.SMA(close, timeperiod=100_001)
    with pytest.raises(Exception, match="TA_BAD_PARAM"):
        talib.BBANDS(close, timeperiod=5, nbdevup=3.0001e37, nbdevdn=2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model:\n  l2: .inf\n", "model.l2: Input should be a finite number (got inf)"),
        ("features:\n  bbands_std: .inf\n", "features.bbands_std: Input should be a finite number (got inf)"),
        ("clean:\n  outlier_zscore: .inf\n", "clean.outlier_zscore: Input should be a finite number (got inf)"),
        ("model:\n  l2: .nan\n", "model.l2: Input should be a finite number (got nan)"),
        ("model:\n  dropout: .nan\n", "model.dropout: Input should be a finite number (got nan)"),
        ("train:\n  learning_rate: .nan\n", "train.learning_rate: Input should be a finite number (got nan)"),
        ("predict:\n  coverage: .nan\n", "predict.coverage: Input should be a finite number (got nan)"),
        ("predict:\n  gamma: .nan\n", "predict.gamma: Input should be a finite number (got nan)"),
        ("evaluate:\n  significance: .nan\n", "evaluate.significance: Input should be a finite number (got nan)"),
    ],
)
def test_yaml_infinity_and_nan_are_refused(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(PipelineError) as error:
        load_params(path)

    assert str(error.value) == f"{path}: {message}"


def test_features_section_builds_from_keywords():
    params = FeaturesParams(sma_windows=[2, 3], ema_windows=[2], macd={"fast": 2, "slow": 3, "signal": 1})

    assert params.macd.fast == 2
    assert params.rsi_window == 14


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "yahoo"}, r"data: data\.end: null with data\.source 'yahoo' means 'up to the latest session': "
                              r"set data\.refresh: \[prices\]"),
        ({"refresh": ["prices"]}, r"data: data\.refresh: \[prices\] re-downloads on every dvc repro, which needs a "
                                  r"live data\.source \(yahoo, stooq, alphavantage\), not 'sample'"),
        ({"source": "yahoo", "end": "2020-01-31", "refresh": ["prices"]},
         r"data: data\.refresh: \[prices\] checks for new sessions, which needs data\.end: null \(got 2020-01-31\)"),
        ({"source": "stooq", "end": "2020-01-31", "adjusted": False},
         r"data: data\.adjusted: false needs prices as traded, which Stooq does not publish"),
        ({"refresh": ["news"]}, r"data\.refresh\.0: Input should be 'prices' \(got 'news'\)"),
        ({"adjusted": "no"}, r"data\.adjusted: Input should be a valid boolean \(got 'no'\)"),
        ({"base_url": "http://proxy/?x=1"}, r"data\.base_url: String should match pattern"),
        ({"tickers": ["AAPL&apikey=x"]}, r"data\.tickers\.\S*0: String should match pattern"),
        ({"tickers": "all", "source": "yahoo", "end": "2020-01-31"},
         r"data: data\.tickers: all means every file data\.path matches, which needs data\.source csv or sample, "
         r"not 'yahoo'; list the tickers$"),
        ({"tickers": "all", "source": "stooq", "end": "2020-01-31"}, r"data: data\.tickers: all .* not 'stooq'"),
        ({"tickers": "all", "source": "alphavantage", "end": None, "refresh": ["prices"]},
         r"data: data\.tickers: all .* not 'alphavantage'"),
    ],
)
def test_live_source_settings_must_agree(data, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params({"data": data})


@pytest.mark.parametrize(
    "data",
    [
        {"source": "yahoo", "end": "2020-01-31", "adjusted": False, "base_url": "http://127.0.0.1:8080/yahoo"},
        {"source": "alphavantage", "end": None, "refresh": ["prices"]},
        {"source": "stooq", "tickers": "^SPX", "end": "2020-01-31"},
        {"source": "yahoo", "tickers": ["AAPL", "MSFT"], "end": "2020-01-31"},
    ],
)
def test_consistent_live_source_settings_are_accepted(data):
    assert parse_params({"data": data}).data.source == data["source"]


def test_news_source_is_one_name_or_a_list():
    assert parse_params({"news": {"source": "rss"}}).news.source == ["rss"]
    assert parse_params({"news": {"source": ["csv", "rss", "gdelt"], "path": "x.csv"}}).news.source == [
        "csv", "rss", "gdelt"]
    assert parse_params({}).news.source == ["none"]
    assert parse_params({"news": {"source": ["csv", "stocktwits", "reddit"], "path": "x.csv"}}).news.social == [
        "stocktwits", "reddit"]
    assert parse_params({}).news.social == []


@pytest.mark.parametrize(
    ("news", "message"),
    [
        ({"source": ["rss", "rss"]}, r"news: news\.source lists a source twice \(rss, rss\)"),
        ({"source": ["none", "rss"]}, r"news: news\.source: 'none' cannot be combined with other sources"),
        ({"source": ["twitter"]}, r"news\.source\.0: Input should be 'none', 'csv', 'rss', 'gdelt', 'alphavantage', "
                                  r"'finnhub', 'stocktwits' or 'reddit' \(got 'twitter'\)"),
        ({"subreddits": []}, r"news\.subreddits: List should have at least 1 item"),
        ({"subreddits": ["r/stocks"]}, r"news\.subreddits\.0: String should match pattern"),
        ({"social_pages": 0}, r"news\.social_pages: Input should be greater than or equal to 1"),
        ({"source": ["csv", "rss"]}, r"news: news\.path must be set when news\.source includes 'csv'"),
        # A query can neither add URL parameters nor GDELT operators.
        ({"query": 'Apple" domain:evil.com'}, r"news\.query: String should match pattern"),
        ({"query": "Apple&apikey=x?"}, r"news\.query: String should match pattern"),
        ({"base_url": {"gdel": "http://127.0.0.1/"}}, r"news\.base_url\.gdel\.\[key\]: Input should be 'google_news'"),
        ({"base_url": {"gdelt": "ftp://mirror"}}, r"news\.base_url\.gdelt: String should match pattern"),
        ({"timezone": "Mars/Olympus"}, r"news\.timezone: expected an IANA time zone such as America/New_York"),
        ({"start": "2020-02-30"}, r"news\.start: expected a date written YYYY-MM-DD \(got '2020-02-30'\)"),
        ({"start": "2020-03-01", "end": "2020-01-01"}, r"news: news\.start \(2020-03-01\) is after news\.end"),
    ],
)
def test_bad_news_settings_name_the_key(news, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params({"news": news})


def test_news_settings_are_accepted():
    news = parse_params({"news": {"source": ["rss", "gdelt"], "query": "S&P 500", "start": datetime.date(2020, 3, 1),
                                  "base_url": {"gdelt": "http://127.0.0.1:8080/gdelt"}}}).news

    assert news.query == "S&P 500" and news.start == "2020-03-01"
    assert news.base_url == {"gdelt": "http://127.0.0.1:8080/gdelt"}


@pytest.mark.parametrize(
    ("sentiment", "message"),
    [
        ({"lexicon": "finbert"},
         r"sentiment\.lexicon: Input should be 'vader', 'vader_finance' or 'learned' \(got 'finbert'\)$"),
        ({"lexicon": "Learned"},
         r"sentiment\.lexicon: Input should be .* \(got 'Learned'; did you mean 'learned'\?\)$"),
        ({"corpus": {"train": ""}}, r"sentiment\.corpus\.train: String should have at least 1 character"),
        ({"corpus": {"tran": "data/sentiment/train.csv"}},
         r"unknown key 'sentiment\.corpus\.tran' \(did you mean 'sentiment\.corpus\.train'\?\)$"),
        ({"corpus": {"test": "data/sentiment/test.csv"}}, r"unknown key 'sentiment\.corpus\.test'"),
        ({"corpus": {"train": 5}}, r"sentiment\.corpus\.train: Input should be a valid string \(got 5\)$"),
        ({"corpus": {"valid": None}}, r"sentiment\.corpus\.valid: Input should be a valid string \(got None\)$"),
        ({"corpus": {"valid": True}}, r"sentiment\.corpus\.valid: expected a number or text, not a YAML true/false"),
        ({"corpus": "data/sentiment/train.csv"}, r"sentiment\.corpus: Input should be a valid dictionary"),
        ({"halflife": 0}, r"sentiment\.halflife: Input should be greater than 0 \(got 0\)"),
        ({"halflife": "long"}, r"sentiment\.halflife: Input should be a valid number"),
    ],
)
def test_bad_sentiment_settings_name_the_key(sentiment, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}") as error:
        parse_params({"sentiment": sentiment})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("lexicon", ["vader", "vader_finance", "learned"])
def test_each_lexicon_name_is_accepted(lexicon):
    assert parse_params({"sentiment": {"lexicon": lexicon}}).sentiment.lexicon == lexicon


def test_the_sentiment_corpus_defaults_to_the_data_folder_and_takes_others():
    default = parse_params({}).sentiment

    assert (default.lexicon, default.corpus.train, default.corpus.valid) == (
        "learned", "data/sentiment/train.csv", "data/sentiment/valid.csv")
    corpus = parse_params({"sentiment": {"corpus": {"train": "../shared/data/sentiment/train.csv"}}}).sentiment.corpus
    assert (corpus.train, corpus.valid) == ("../shared/data/sentiment/train.csv", "data/sentiment/valid.csv")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": {"cell": "rnn"}}, r"model\.cell: Input should be 'lstm' or 'gru' \(got 'rnn'\)"),
        ({"model": {"bidirectional": "yes"}}, r"model\.bidirectional: Input should be a valid boolean"),
        ({"model": {"l2": -0.1}}, r"model\.l2: Input should be greater than or equal to 0"),
        ({"model": {"recurrent_dropout": 1.0}}, r"model\.recurrent_dropout: Input should be less than 1"),
        ({"model": {"dense_units": -1}}, r"model\.dense_units: Input should be greater than or equal to 0"),
    ],
)
def test_architecture_params_are_checked(changes, message):
    with pytest.raises(PipelineError, match=message):
        parse_params(changes)


def test_architecture_params_default_to_a_plain_lstm():
    model = parse_params({}).model
    assert (model.cell, model.bidirectional, model.l2, model.recurrent_dropout, model.dense_units) == (
        "lstm", False, 0.0, 0.0, 0)


@pytest.mark.parametrize(
    ("monitor", "message"),
    [
        ({"window": 0}, r"monitor\.window: Input should be greater than or equal to 1 \(got 0\)"),
        ({"min_scored": 0}, r"monitor\.min_scored: Input should be greater than or equal to 1 \(got 0\)"),
        ({"drift_ratio": 0.8}, r"monitor\.drift_ratio: Input should be greater than or equal to 1 \(got 0\.8\)"),
        ({"drift_ratio": "high"}, r"monitor\.drift_ratio: Input should be a valid number"),
        ({"window": 3, "min_scored": 4}, r"monitor: monitor\.min_scored \(4\) cannot exceed monitor\.window \(3\)"),
        ({"windows": 3}, r"unknown key 'monitor\.windows' \(did you mean 'monitor\.window'\?\)"),
    ],
)
def test_bad_monitor_settings_name_the_key(monitor, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params({"monitor": monitor})


def test_tickers_are_a_list_all_or_one_name():
    assert parse_params({}).data.tickers == ["^GSPC"]
    assert parse_params({"data": {"tickers": ["AAPL", "MSFT", "^GSPC"]}}).data.tickers == ["AAPL", "MSFT", "^GSPC"]
    assert parse_params({"data": {"tickers": "all"}}).data.tickers == "all"
    # One name other than all is a list of one; ALL is a ticker (Allstate), not the keyword.
    assert parse_params({"data": {"tickers": "AAPL"}}).data.tickers == ["AAPL"]
    assert parse_params({"data": {"tickers": "ALL"}}).data.tickers == ["ALL"]


@pytest.mark.parametrize(
    ("tickers", "message"),
    [
        (["AAPL", "AAPL"], r"data: data\.tickers repeats AAPL; list each ticker once$"),
        (["^IXIC", "B", "^GSPC", "B", "^IXIC"], r"data: data\.tickers repeats B, \^IXIC; list each ticker once$"),
        ([], r"data\.tickers: Value should have at least 1 item after validation, not 0 \(got \[\]\)$"),
    ],
)
def test_tickers_are_listed_once_each_and_at_least_one(tickers, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params({"data": {"tickers": tickers}})


def test_tickers_with_a_csv_source_need_a_path_per_ticker():
    message = (r"^params\.yaml: data: data\.tickers with more than one ticker and data\.source 'csv' needs \{ticker\} "
               r"in data\.path, e\.g\. data/external/\{ticker\}\.csv$")
    for tickers in (["AAPL", "MSFT"], "all"):
        with pytest.raises(PipelineError, match=message):
            parse_params({"data": {"source": "csv", "path": "data/external/one.csv", "tickers": tickers}})
    each = {"source": "csv", "path": "data/external/{ticker}.csv"}
    data = parse_params({"data": {**each, "tickers": ["AAPL", "MSFT"]}}).data
    assert data.path_for("AAPL") == "data/external/AAPL.csv"
    assert data.path_for("MSFT") == "data/external/MSFT.csv"
    assert parse_params({"data": {**each, "tickers": "all"}}).data.tickers == "all"


def test_all_is_allowed_with_the_sample_and_csv_sources_only():
    assert parse_params({"data": {"source": "sample", "tickers": "all"}}).data.tickers == "all"
    data = parse_params({"data": {"source": "csv", "path": "prices/{ticker}.csv", "tickers": "all"}}).data
    assert (data.source, data.tickers) == ("csv", "all")


def test_a_ticker_in_the_list_is_checked_like_a_single_one():
    with pytest.raises(PipelineError, match=r"^params\.yaml: data\.tickers\.\S*1: String should match pattern .* "
                                            r"\(got 'AAPL&range=max'\)$"):
        parse_params({"data": {"tickers": ["MSFT", "AAPL&range=max"]}})


@pytest.mark.parametrize("batches", [[0], [0, 1], list(range(8)), list(range(256))])
def test_batches_are_the_numbers_zero_to_n_minus_one(batches):
    assert parse_params({"data": {"batches": batches}}).data.batches == batches


@pytest.mark.parametrize(
    ("batches", "message"),
    [
        ([1], r"data: data\.batches must be the batch numbers 0 \.\. n-1 in order, e\.g\. \[0, 1, 2, 3\] "
              r"\(got \[1\]\)$"),
        ([0, 2], r"data: data\.batches must be the batch numbers 0 \.\. n-1 in order, .* \(got \[0, 2\]\)$"),
        ([1, 0], r"data: data\.batches must be the batch numbers 0 \.\. n-1 in order, .* \(got \[1, 0\]\)$"),
        ([0, 0], r"data: data\.batches must be the batch numbers 0 \.\. n-1 in order, .* \(got \[0, 0\]\)$"),
        ([], r"data\.batches: List should have at least 1 item after validation, not 0"),
        (list(range(257)), r"data\.batches: List should have at most 256 items after validation, not 257"),
        ([0, True], r"data\.batches: expected a number or text, not a YAML true/false"),
    ],
)
def test_bad_batches_are_refused(batches, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params({"data": {"batches": batches}})


@pytest.mark.parametrize(
    ("on_error", "tickers", "skip"),
    [
        ("auto", ["AAPL", "MSFT"], False),  # a list: the tickers asked for by name, so one failing stops the stage
        ("auto", "all", True),  # all: whatever files there are, so a bad one is left out and listed
        ("stop", "all", False),
        ("skip", ["AAPL"], True),
        ("stop", ["AAPL"], False),
        ("skip", "all", True),
    ],
)
def test_skip_failing_follows_on_error_and_auto_skips_for_all_only(on_error, tickers, skip):
    data = parse_params({"data": {"on_error": on_error, "tickers": tickers}}).data

    assert data.skip_failing is skip


def test_model_scope_is_ticker_or_global():
    assert parse_params({}).model.scope == "ticker"
    assert parse_params({"model": {"scope": "global"}}).model.scope == "global"


def test_the_params_file_can_come_from_the_environment(tmp_path, monkeypatch):
    other = tmp_path / "ticker.yaml"
    other.write_text("data:\n  tickers: ^IXIC\n")
    monkeypatch.setenv("STOCKPIPE_PARAMS", str(other))

    assert load_params().data.tickers == ["^IXIC"]


def test_significance_and_interval_params_default_to_the_project_files_choices():
    params = parse_params({})

    assert (params.evaluate.fail_on, params.evaluate.significance) == ("sign", 0.05)
    assert (params.predict.coverage, params.predict.interval_method, params.predict.gamma,
            params.predict.volatility) == (0.9, "adaptive", 0.02, "garch")


def test_significance_and_interval_params_take_their_other_values():
    params = parse_params({"evaluate": {"fail_below_naive": True, "fail_on": "significant", "significance": 0.01},
                           "predict": {"interval_method": "split", "gamma": 0, "volatility": "ewma"}})

    assert (params.evaluate.fail_on, params.evaluate.significance) == ("significant", 0.01)
    assert (params.predict.interval_method, params.predict.gamma, params.predict.volatility) == ("split", 0.0, "ewma")
    # gamma's bounds are inclusive: 0 is plain conformal on a growing calibration set, 1 the largest step.
    assert parse_params({"predict": {"gamma": 1}}).predict.gamma == 1.0
    assert parse_params({"predict": {"gamma": "5e-3"}}).predict.gamma == 0.005


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"evaluate": {"fail_on": "always"}}, r"evaluate\.fail_on: Input should be 'sign' or 'significant' "
                                              r"\(got 'always'\)$"),
        ({"evaluate": {"fail_on": "significantly"}},
         r"evaluate\.fail_on: Input should be 'sign' or 'significant' \(got 'significantly'; did you mean "
         r"'significant'\?\)$"),
        ({"evaluate": {"fail_on": True}}, r"evaluate\.fail_on: expected a number or text, not a YAML true/false"),
        ({"evaluate": {"significance": 0}}, r"evaluate\.significance: Input should be greater than 0 \(got 0\)$"),
        ({"evaluate": {"significance": 1}}, r"evaluate\.significance: Input should be less than 1 \(got 1\)$"),
        ({"evaluate": {"significance": 5}}, r"evaluate\.significance: Input should be less than 1 \(got 5\)$"),
        ({"evaluate": {"significance": "5%"}}, r"evaluate\.significance: Input should be a valid number"),
        ({"evaluate": {"signficance": 0.1}},
         r"unknown key 'evaluate\.signficance' \(did you mean 'evaluate\.significance'\?\)$"),
        ({"predict": {"interval_method": "conformal"}},
         r"predict\.interval_method: Input should be 'adaptive' or 'split' \(got 'conformal'\)$"),
        ({"predict": {"interval": "split"}},
         r"unknown key 'predict\.interval' \(did you mean 'predict\.interval_method'\?\)$"),
        ({"predict": {"gamma": -0.1}}, r"predict\.gamma: Input should be greater than or equal to 0 \(got -0\.1\)$"),
        ({"predict": {"gamma": 1.5}}, r"predict\.gamma: Input should be less than or equal to 1 \(got 1\.5\)$"),
        ({"predict": {"gamma": True}}, r"predict\.gamma: expected a number or text, not a YAML true/false"),
        ({"predict": {"volatility": "arch"}},
         r"predict\.volatility: Input should be 'garch' or 'ewma' \(got 'arch'; did you mean 'garch'\?\)$"),
        ({"predict": {"volatility": "egarch"}}, r"predict\.volatility: Input should be 'garch' or 'ewma'"),
        ({"predict": {"coverage": 1.0}}, r"predict\.coverage: Input should be less than 1 \(got 1\.0\)$"),
        ({"predict": {"coverage": 0.5}}, r"predict\.coverage: Input should be greater than 0\.5 \(got 0\.5\)$"),
    ],
)
def test_bad_significance_and_interval_settings_name_the_key(raw, message):
    with pytest.raises(PipelineError, match=rf"^params\.yaml: {message}"):
        parse_params(raw)


def test_intraday_interval_defaults_and_settings():
    data = parse_params({"data": {"source": "csv", "path": "x.csv", "interval": "5m", "timezone": "UTC",
                                  "bar_label": "end"}}).data
    assert data.intraday and data.timezone == "UTC" and data.bar_label == "end" and not data.extended_hours
    assert not parse_params({}).data.intraday


@pytest.mark.parametrize(("raw", "message"), [
    ({"source": "stooq", "tickers": ["AAPL"], "end": "2024-01-02", "interval": "5m"},
     "data.interval: 5m needs intraday bars, which data.source 'stooq' does not have"),
    ({"interval": "1h"}, "data.interval: 1h needs intraday bars, which data.source 'sample' does not have"),
    ({"source": "csv", "path": "x.csv", "interval": "2m"}, "data.interval: Input should be"),
    ({"source": "csv", "path": "x.csv", "interval": "5m", "timezone": "New York"},
     "data.timezone: expected an IANA time zone such as America/New_York or UTC \\(got .New York.\\)"),
])
def test_intraday_settings_that_cannot_work_are_refused(raw, message):
    with pytest.raises(PipelineError, match=message):
        parse_params({"data": raw})
