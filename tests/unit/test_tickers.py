"""Per-ticker params and the summary table, on literal values."""

import pytest

from stockpipe.params import parse_params
from stockpipe.tickers import markdown_table, summary, summary_row, ticker_params


def metrics(skill, beats, folds_std=None):
    return {"n_test": 100, "rmse": 10.0, "naive_rmse": 10.0 / (1 - skill), "skill": skill, "beats_naive": beats,
            "mase": 1.1, "interval_coverage": 0.875, "direction_accuracy": 0.5,
            "folds": {"count": 2, "skill": {"std": folds_std},
                      "per_fold": {"1": {"first": "2015-01-02", "last": "2016-12-30"},
                                   "2": {"first": "2017-01-03", "last": "2018-12-31"}}},
            "seeds": {"count": 1, "skill": {"std": None}}}


def test_ticker_params_change_only_the_ticker_its_file_and_the_list():
    raw = {"data": {"source": "csv", "path": "data/external/{ticker}.csv", "ticker": "GSPC", "tickers": ["AAPL"]},
           "model": {"units": 64}}

    made = ticker_params(raw, "AAPL")

    assert made == {"data": {"source": "csv", "path": "data/external/AAPL.csv", "ticker": "AAPL", "tickers": []},
                    "model": {"units": 64}}
    assert raw["data"]["ticker"] == "GSPC"  # the original is left alone
    assert parse_params(made).data.ticker == "AAPL"


def test_summary_rows_and_markdown_table():
    rows = {"^GSPC": summary_row(metrics(-0.01, False, folds_std=0.02)), "^IXIC": summary_row(metrics(0.02, True))}

    table = summary(rows)

    assert (table["count"], table["beat_naive"]) == (2, 1)
    assert table["mean_skill"] == pytest.approx(0.005)
    assert rows["^GSPC"]["first"] == "2015-01-02" and rows["^GSPC"]["last"] == "2018-12-31"
    assert markdown_table(table).splitlines() == [
        "1 of 2 tickers beat the naive forecast (mean skill +0.0050).",
        "",
        "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage "
        "| skill sd (folds / seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
        "| ^GSPC | 2015-01-02 .. 2018-12-31 (100) | 10.00 | 9.90 | -0.0100 | **loses to naive** | 1.10 | 87.5% "
        "| 0.0200 (2) / - (1) |",
        "| ^IXIC | 2015-01-02 .. 2018-12-31 (100) | 10.00 | 10.20 | +0.0200 | beats naive | 1.10 | 87.5% "
        "| - (2) / - (1) |",
    ]
