"""Load and validate params.yaml: one schema, one-line errors naming the key."""

from __future__ import annotations

import datetime
import difflib
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from stockpipe.errors import PipelineError


class _Section(BaseModel):
    # YAML reads .inf and .nan as floats; no param means anything by them, and past validation
    # they would reach TA-Lib or Keras as a bad number rather than as a bad setting.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans(cls, value, info):
        # YAML reads yes/no/on/off as booleans, which pydantic would turn into 1 and 0
        # (`epochs: yes` would train one epoch). Only params declared bool are switches.
        if cls.model_fields[info.field_name].annotation is bool:
            return value
        if isinstance(value, bool) or (isinstance(value, list) and any(isinstance(item, bool) for item in value)):
            raise ValueError("expected a number or text, not a YAML true/false (quote text such as 'ON')")
        return value


LIVE_PRICE_SOURCES = ("yahoo", "stooq", "alphavantage")


def path_with_ticker(path: str | None, ticker: str) -> str | None:
    """``path`` with {ticker} replaced by ``ticker`` (data.path of a csv source)."""
    return path.replace("{ticker}", ticker) if path else None


# Letters, digits and . - ^ = only, so a ticker cannot add parameters to a provider's URL, and at
# least one letter or digit, so that no ticker is "." or "..", which name folders (models/<ticker>/).
TICKER_PATTERN = r"^[.\-^=]*[A-Za-z0-9][A-Za-z0-9.\-^=]*$"
TICKER_MAX_LENGTH = 20


class DataParams(_Section):
    source: Literal["sample", "csv", "yahoo", "stooq", "alphavantage"] = "sample"
    path: str | None = None  # csv: a file; {ticker} in it stands for the ticker
    # The universe: a list, or "all" (every file data.path's {ticker} matches; with sample, both series).
    tickers: list[Annotated[str, StringConstraints(pattern=TICKER_PATTERN, max_length=TICKER_MAX_LENGTH)]] \
        | Literal["all"] = Field(
        default_factory=lambda: ["^GSPC"], min_length=1)
    # Batch numbers 0 .. n-1: the per-batch stages are made once for each; a ticker's batch is a hash of its name.
    batches: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=256)
    # stop: the first failing ticker stops its stage; skip: it is left out and listed in the summary;
    # auto: stop for a list of tickers, skip for "all".
    on_error: Literal["auto", "stop", "skip"] = "auto"
    exchange: str = "XNYS"
    start: str | None = None
    end: str | None = None
    date_format: Literal["auto", "iso", "dayfirst", "monthfirst"] = "auto"
    adjusted: bool = Field(True, strict=True)
    base_url: str | None = Field(None, pattern=r"^https?://[^\s?#]+$")
    refresh: list[Literal["prices"]] = Field(default_factory=list)
    # 1d: one bar per session; the others: intraday bars (docs/intraday.md).
    interval: Literal["1d", "1h", "30m", "15m", "5m", "1m"] = "1d"
    # Zone of csv times written without a UTC offset; None: the exchange's own.
    timezone: str | None = None
    # Whether a file's bar times name the bar's start (as Yahoo and the shared files do) or its end.
    bar_label: Literal["start", "end"] = "start"
    # Keep pre- and after-market bars instead of dropping them (counted either way).
    extended_hours: bool = Field(False, strict=True)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value):
        # YAML reads an unquoted 2020-01-02 as a date; a quoted one stays text and must be a real date.
        if isinstance(value, datetime.date):
            return value.isoformat()[:10]
        if isinstance(value, str):
            try:
                datetime.date.fromisoformat(value if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else "")
            except ValueError:
                raise ValueError("expected a date written YYYY-MM-DD") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value):
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError("expected an IANA time zone such as America/New_York or UTC") from None
        return value

    @property
    def intraday(self) -> bool:
        """Whether data.interval asks for bars shorter than a session."""
        return self.interval != "1d"

    @model_validator(mode="after")
    def _intraday_source(self):
        if self.intraday and self.source in ("sample", "stooq"):
            raise ValueError(f"data.interval: {self.interval} needs intraday bars, which data.source '{self.source}' "
                             "does not have (use csv, yahoo or alphavantage, or data.interval: 1d)")
        return self

    @model_validator(mode="after")
    def _csv_needs_path(self):
        if self.source == "csv" and not self.path:
            raise ValueError("data.path must be set when data.source is 'csv'")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"data.start ({self.start}) is after data.end ({self.end})")
        return self

    @field_validator("tickers", mode="before")
    @classmethod
    def _one_or_many_tickers(cls, value):
        return [value] if isinstance(value, str) and value != "all" else value

    @model_validator(mode="after")
    def _distinct_tickers(self):
        if self.batches != list(range(len(self.batches))):
            raise ValueError(f"data.batches must be the batch numbers 0 .. n-1 in order, e.g. [0, 1, 2, 3] "
                             f"(got {self.batches})")
        if self.tickers == "all":
            if self.source in LIVE_PRICE_SOURCES:
                raise ValueError(f"data.tickers: all means every file data.path matches, which needs data.source "
                                 f"csv or sample, not '{self.source}'; list the tickers")
        else:
            repeated = sorted({ticker for ticker in self.tickers if self.tickers.count(ticker) > 1})
            if repeated:
                raise ValueError(f"data.tickers repeats {', '.join(repeated)}; list each ticker once")
        several = self.tickers == "all" or len(self.tickers) > 1
        if self.source == "csv" and several and "{ticker}" not in (self.path or ""):
            raise ValueError("data.tickers with more than one ticker and data.source 'csv' needs {ticker} in "
                             "data.path, e.g. data/external/{ticker}.csv")
        return self

    @property
    def skip_failing(self) -> bool:
        """Whether a failing ticker is left out (and listed) rather than stopping its stage."""
        return self.on_error == "skip" or (self.on_error == "auto" and self.tickers == "all")

    def path_for(self, ticker: str) -> str | None:
        """data.path with {ticker} replaced by ``ticker``."""
        return path_with_ticker(self.path, ticker)

    @model_validator(mode="after")
    def _consistent_live_source(self):
        live = self.source in LIVE_PRICE_SOURCES
        if "prices" in self.refresh and not live:
            raise ValueError(
                f"data.refresh: [prices] re-downloads on every dvc repro, which needs a live data.source "
                f"({', '.join(LIVE_PRICE_SOURCES)}), not '{self.source}'"
            )
        if "prices" in self.refresh and self.end:
            raise ValueError(
                f"data.refresh: [prices] checks for new sessions, which needs data.end: null (got {self.end}); "
                "with data.end pinned the download is cached"
            )
        if live and not self.end and "prices" not in self.refresh:
            raise ValueError(
                f"data.end: null with data.source '{self.source}' means 'up to the latest session': "
                "set data.refresh: [prices] so dvc repro checks for new sessions, or pin data.end to a date"
            )
        if self.source == "stooq" and not self.adjusted:
            raise ValueError("data.adjusted: false needs prices as traded, which Stooq does not publish; "
                             "use yahoo or alphavantage")
        return self


NEWS_SOURCES = ("none", "csv", "rss", "gdelt", "alphavantage", "finnhub", "stocktwits", "reddit")
# Posts rather than headlines: scored and counted in their own feature columns (columns.SOCIAL_COLUMNS).
SOCIAL_SOURCES = ("stocktwits", "reddit")
# Keys of news.base_url: the rss source reads two feeds, each with its own address.
NEWS_FEEDS = ("google_news", "yahoo_finance", "gdelt", "alphavantage", "finnhub", "stocktwits", "reddit")
_URL = Annotated[str, StringConstraints(pattern=r"^https?://[^\s?#]+$")]


class NewsParams(_Section):
    source: list[Literal[NEWS_SOURCES]] = Field(default_factory=lambda: ["none"], min_length=1)
    path: str | None = None
    timezone: str = "America/New_York"
    # Letters, digits, spaces and . & ' - only: a query can neither add URL parameters nor
    # GDELT search operators (":", quotes, parentheses).
    query: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .&'-]{0,79}$")
    start: str | None = None
    end: str | None = None
    base_url: dict[Literal[NEWS_FEEDS], _URL] = Field(default_factory=dict)
    # reddit: the subreddits searched, each a request (names as Reddit allows them).
    subreddits: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")]] = Field(
        default_factory=lambda: ["wallstreetbets", "stocks", "investing"], min_length=1)
    # stocktwits: pages of about 30 posts asked per ticker and run, newest first; StockTwits serves
    # roughly 200 requests an hour to one address.
    social_pages: int = Field(5, ge=1, le=200)

    @property
    def social(self) -> list[str]:
        """The social-media sources among news.source (their posts get the social feature columns)."""
        return [source for source in self.source if source in SOCIAL_SOURCES]

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value):
        return [value] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as America/New_York") from None
        return value

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso_date(cls, value):
        if isinstance(value, datetime.date):
            return value.isoformat()[:10]
        if isinstance(value, str) and not _is_iso_date(value):
            raise ValueError("expected a date written YYYY-MM-DD")
        return value

    @model_validator(mode="after")
    def _consistent(self):
        if len(set(self.source)) != len(self.source):
            raise ValueError(f"news.source lists a source twice ({', '.join(self.source)})")
        if "none" in self.source and len(self.source) > 1:
            raise ValueError("news.source: 'none' cannot be combined with other sources")
        if "csv" in self.source and not self.path:
            raise ValueError("news.path must be set when news.source includes 'csv'")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"news.start ({self.start}) is after news.end ({self.end})")
        return self


def _is_iso_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else "")
    except ValueError:
        return False
    return True


class CorpusParams(_Section):
    # Labelled CSVs (text, label) that the train_sentiment stage fits on and measures on.
    train: str = Field("data/sentiment/train.csv", min_length=1)
    valid: str = Field("data/sentiment/valid.csv", min_length=1)


class SentimentParams(_Section):
    lexicon: Literal["vader", "vader_finance", "learned"] = "learned"
    halflife: float = Field(5.0, gt=0, le=1000)  # sessions after which a headline weighs half
    corpus: CorpusParams = Field(default_factory=CorpusParams)


class CleanParams(_Section):
    ffill_limit: int = Field(3, ge=0)
    max_gap_sessions: int = Field(10, ge=1)
    outlier_zscore: float = Field(12.0, gt=0)
    outlier_action: Literal["keep", "drop"] = "keep"


# TA-Lib refuses (TA_BAD_PARAM) a time period above 100000 and a band width beyond its
# TA_REAL_MAX of 3e37 standard deviations; bounding the params here stops a bad value before
# the features stage calls it.
TALIB_MAX_PERIOD = 100_000
TALIB_MAX_REAL = 3e37
_Window = Annotated[int, Field(le=TALIB_MAX_PERIOD)]


class MacdParams(_Section):
    fast: int = Field(12, ge=2, le=TALIB_MAX_PERIOD)
    slow: int = Field(26, ge=2, le=TALIB_MAX_PERIOD)
    signal: int = Field(9, ge=1, le=TALIB_MAX_PERIOD)

    @model_validator(mode="after")
    def _fast_below_slow(self):
        if self.fast >= self.slow:
            raise ValueError("features.macd.fast must be smaller than features.macd.slow")
        return self


class FeaturesParams(_Section):
    sma_windows: list[_Window] = Field(default_factory=lambda: [10, 20, 50], min_length=1)
    ema_windows: list[_Window] = Field(default_factory=lambda: [12, 26], min_length=1)
    rsi_window: int = Field(14, ge=2, le=TALIB_MAX_PERIOD)
    macd: MacdParams = Field(default_factory=MacdParams)
    bbands_window: int = Field(20, ge=2, le=TALIB_MAX_PERIOD)
    bbands_std: float = Field(2.0, gt=0)
    atr_window: int = Field(14, ge=1, le=TALIB_MAX_PERIOD)
    obv_window: int = Field(20, ge=2, le=TALIB_MAX_PERIOD)  # TA-Lib's SUM refuses windows shorter than 2 days.

    @field_validator("bbands_std")
    @classmethod
    def _within_talib_reals(cls, value):
        # A `le=` bound would be printed with all 38 digits.
        if value > TALIB_MAX_REAL:
            raise ValueError(f"Input should be less than or equal to {TALIB_MAX_REAL:g}, TA-Lib's limit")
        return value

    @model_validator(mode="after")
    def _distinct_windows_of_at_least_two_days(self):
        for key in ("sma_windows", "ema_windows"):
            windows = getattr(self, key)
            if any(window < 2 for window in windows):
                raise ValueError(f"features.{key} must hold windows of at least 2 days")
            # Each window is one feature column (sma_10_gap, ...), and a table cannot hold a column twice.
            repeated = sorted({window for window in windows if windows.count(window) > 1})
            if repeated:
                raise ValueError(f"features.{key} repeats {', '.join(map(str, repeated))}; list each window once")
        return self


class SplitParams(_Section):
    test_size: float = Field(0.2, gt=0, lt=1)
    val_size: float = Field(0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _room_for_training(self):
        if self.test_size + self.val_size >= 0.9:
            raise ValueError("split.test_size + split.val_size must leave at least 10% for training")
        return self


class ModelParams(_Section):
    # ticker: one model per ticker; global: one model trained on the pooled windows of every ticker.
    scope: Literal["ticker", "global"] = "ticker"
    target: Literal["log_return", "close"] = "log_return"
    window: int = Field(20, ge=2)
    layers: int = Field(1, ge=1, le=8)
    units: int = Field(32, ge=1, le=4096)
    dropout: float = Field(0.1, ge=0, lt=1)
    cell: Literal["lstm", "gru"] = "lstm"
    bidirectional: bool = Field(False, strict=True)
    l2: float = Field(0.0, ge=0)
    recurrent_dropout: float = Field(0.0, ge=0, lt=1)
    dense_units: int = Field(0, ge=0, le=4096)


class TrainParams(_Section):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(0.001, gt=0, le=1)
    patience: int = Field(5, ge=1)
    seeds: int = Field(1, ge=1, le=100)  # models trained per fold, with seeds seed, seed+1, ...


class EvaluateParams(_Section):
    ma_window: int = Field(5, ge=1)
    folds: int = Field(1, ge=1, le=100)  # walk-forward folds over the test rows; 1 is the plain split
    fail_below_naive: bool = Field(False, strict=True)
    fail_on: Literal["sign", "significant"] = "sign"  # what fail_below_naive fails on: skill < 0 or DM p < significance
    significance: float = Field(0.05, gt=0, lt=1)  # the Diebold-Mariano test's level for "significantly"


class PredictParams(_Section):
    horizon: int = Field(5, ge=1, le=260)
    # Above 0.5: the forecast also has a 50% band (lower_50, upper_50) inside this one.
    coverage: float = Field(0.9, gt=0.5, lt=1)
    interval_method: Literal["adaptive", "split"] = "adaptive"
    gamma: float = Field(0.02, ge=0, le=1)  # adaptive: step of the working miscoverage level after each scored day
    volatility: Literal["garch", "ewma"] = "garch"  # GARCH(1,1) or RiskMetrics EWMA (0.94), Student-t errors


class MonitorParams(_Section):
    window: int = Field(20, ge=1, le=100_000)  # the latest scored forecasts the live errors cover
    min_scored: int = Field(5, ge=1)  # first steps in the window before drift is judged
    drift_ratio: float = Field(1.5, ge=1, le=1000)

    @model_validator(mode="after")
    def _min_scored_within_window(self):
        if self.min_scored > self.window:
            raise ValueError(f"monitor.min_scored ({self.min_scored}) cannot exceed monitor.window ({self.window})")
        return self


class PlotsParams(_Section):
    # The ticker whose fan chart, calibration and gain/loss pictures are drawn; None: the first of data.tickers.
    ticker: Annotated[str, StringConstraints(pattern=TICKER_PATTERN, max_length=TICKER_MAX_LENGTH)] | None = None


class Params(_Section):
    seed: int = Field(42, ge=0)
    data: DataParams = Field(default_factory=DataParams)
    news: NewsParams = Field(default_factory=NewsParams)
    sentiment: SentimentParams = Field(default_factory=SentimentParams)
    clean: CleanParams = Field(default_factory=CleanParams)
    features: FeaturesParams = Field(default_factory=FeaturesParams)
    split: SplitParams = Field(default_factory=SplitParams)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    predict: PredictParams = Field(default_factory=PredictParams)
    monitor: MonitorParams = Field(default_factory=MonitorParams)
    plots: PlotsParams = Field(default_factory=PlotsParams)


def _known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_known_keys(annotation, f"{dotted}."))
    return keys


def _describe(error: dict) -> str:
    # A param that may take several shapes (data.tickers: a list or "all") puts the shape pydantic
    # tried into the location ("list[constrained-str]"), which names nothing in params.yaml.
    key = ".".join(str(part) for part in error["loc"] if not re.match(r"[\w-]+\[", str(part)))
    if error["type"] == "extra_forbidden":
        suggestion = difflib.get_close_matches(key, _known_keys(Params), n=1)
        hint = f" (did you mean '{suggestion[0]}'?)" if suggestion else ""
        return f"unknown key '{key}'{hint}"
    # "or instance of ModelParams" names a class of this module, which means nothing in params.yaml.
    message = re.sub(r" or instance of \w+", "", error["msg"].removeprefix("Value error, "))
    if not key:
        return message
    got = error.get("input")
    hint = ""
    if error["type"] == "model_type" and isinstance(got, str):
        hint = "; write one 'key: value' per line, indented under the section"
    if error["type"] == "model_type" and got is None:
        hint = "; the section is empty: give it keys or remove it"
    if error["type"] == "literal_error" and isinstance(got, str):
        allowed = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        suggestion = difflib.get_close_matches(got.lower(), allowed, n=1)
        hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
    if error["type"] == "value_error" and isinstance(got, dict):
        # A rule across a section's keys: the message names the keys and values that disagree.
        return f"{key}: {message}"
    return f"{key}: {message} (got {got!r}{hint})"


PARAMS_VARIABLE = "STOCKPIPE_PARAMS"


def parse_params(raw: dict, source: str = "params.yaml") -> Params:
    """Validate a params mapping.

    Args:
        raw: The mapping read from params.yaml.
        source: Name used in error messages.

    Raises:
        PipelineError: One line naming the first bad key, its value and what is allowed.
    """
    if not isinstance(raw, dict):
        raise PipelineError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise PipelineError(f"{source}: {_describe(error.errors()[0])}") from None


# A params file is a page of settings; anything larger is not one and is refused unread.
MAX_PARAMS_BYTES = 1024**2


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key, first_line: int, line: int):
        super().__init__(f"line {line}: key '{key}' is given twice (first on line {first_line}); keep one")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML safe loading that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        lines = {}
        for key_node, _ in node.value:
            # Keys merged in with `<<:` may be overridden; only keys written in this mapping count.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in lines:
                raise _DuplicateKey(key, lines[key], line)
            lines[key] = line
        return super().construct_mapping(node, deep)


def params_path() -> Path:
    """The params file stages read: $STOCKPIPE_PARAMS if set, else params.yaml."""
    return Path(os.environ.get(PARAMS_VARIABLE) or "params.yaml")


def load_params(path: str | Path | None = None) -> Params:
    """Read and validate params.yaml: UTF-8 (a byte-order mark is allowed), YAML safe loading,
    no key given twice, at least one section, at most ``MAX_PARAMS_BYTES``.

    Without ``path``, the file named by $STOCKPIPE_PARAMS, else params.yaml, so that a stage
    can be run by hand on another params file.
    """
    path = Path(path or params_path())
    try:
        size = path.stat().st_size
        if size > MAX_PARAMS_BYTES:
            raise PipelineError(f"{path}: {size / 1024**2:.1f} MiB is over the {MAX_PARAMS_BYTES // 1024**2} MiB "
                                "limit for a params file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise PipelineError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                            "save the file as UTF-8") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # safe: the loader is a SafeLoader
    except _DuplicateKey as error:
        raise PipelineError(f"{path}: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        tabs = "; indent with spaces, not tabs" if "'\\t'" in str(error.problem) else ""
        raise PipelineError(f"{path}: {where}not valid YAML ({error.problem}{tabs})") from None
    except yaml.YAMLError as error:
        raise PipelineError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if raw is None:
        raise PipelineError(f"{path}: no settings (the file is empty or only comments); "
                            "expected sections such as data:, model: and train:")
    return parse_params(raw, str(path))
