"""The universe's summary on literal metrics: each ticker's row, the pooled skill by hand, and the markdown table."""

import math

import pytest

from stockpipe.summary import POOLED_UNITS, markdown_table, pooled_skill, summary, summary_row


def metrics(n_test, rmse, naive_rmse, mae, mase, fold_std=None, seeds=1, seed_std=None):
    """One ticker's test metrics as evaluate writes them (two walk-forward folds), with skill 1 - rmse / naive."""
    skill = 1 - rmse / naive_rmse
    return {"n_test": n_test, "rmse": rmse, "naive_rmse": naive_rmse, "mae": mae, "mase": mase, "skill": skill,
            "beats_naive": skill > 0, "interval_coverage": 0.875, "direction_accuracy": 0.5,
            "folds": {"count": 2, "skill": {"std": fold_std},
                      "per_fold": {"1": {"first": "2015-01-02", "last": "2016-12-30"},
                                   "2": {"first": "2017-01-03", "last": "2018-12-31"}}},
            "seeds": {"count": seeds, "skill": {"std": seed_std}}}


# Two tickers at very different prices. SMALL: scale mae / mase = 3 / 1.5 = 2, so rmse 2 and naive 6 are 1 and 3
# in scaled units, on 300 test days (skill 1 - 2/6 = +0.6667). BIG: scale 40 / 0.8 = 50, so rmse 100 and naive
# 50 are 2 and 1, on 100 days (skill 1 - 100/50 = -1).
SMALL = metrics(300, 2.0, 6.0, 3.0, 1.5, fold_std=0.02)
BIG = metrics(100, 100.0, 50.0, 40.0, 0.8, seeds=3, seed_std=0.125)


def test_summary_row_spans_the_folds_and_keeps_the_test_errors_and_their_spread():
    assert summary_row(SMALL) == {
        "first": "2015-01-02", "last": "2018-12-31", "n_test": 300, "rmse": 2.0, "naive_rmse": 6.0,
        "skill": pytest.approx(2 / 3), "beats_naive": True, "mase": 1.5, "interval_coverage": 0.875,
        "folds": 2, "fold_skill_std": 0.02, "seeds": 1, "seed_skill_std": None}


def test_pooled_skill_by_hand_on_two_tickers():
    # Squared scaled errors summed over every test day: model 300 * 1^2 + 100 * 2^2 = 700, naive
    # 300 * 3^2 + 100 * 1^2 = 2800, so 1 - sqrt(700 / 2800) = 1 - 1/2.
    assert pooled_skill({"SMALL": SMALL, "BIG": BIG}) == pytest.approx(0.5)
    # In prices BIG's errors would swamp SMALL's: 1 - sqrt((300 * 4 + 100 * 10000) / (300 * 36 + 100 * 2500)).
    assert 1 - math.sqrt((300 * 4 + 100 * 10_000) / (300 * 36 + 100 * 2_500)) == pytest.approx(-0.959, abs=1e-3)


def test_pooled_skill_of_one_ticker_is_its_own_skill():
    assert pooled_skill({"SMALL": SMALL}) == pytest.approx(SMALL["skill"])
    assert pooled_skill({"BIG": BIG}) == pytest.approx(BIG["skill"])


@pytest.mark.parametrize("flat", [
    metrics(50, 1.0, 1.0, 1.0, float("nan")),  # training closes that never moved: mase is NaN
    metrics(50, 1.0, 1.0, 1.0, None),  # ... which JSON may hold as null
    metrics(50, 0.0, 1.0, 0.0, 0.0),  # no error at all: no scale to recover from mae / mase
], ids=["nan", "null", "zero"])
def test_a_ticker_without_a_scale_is_left_out_of_the_pooled_skill(flat):
    assert pooled_skill({"SMALL": SMALL, "BIG": BIG, "FLAT": flat}) == pytest.approx(0.5)
    assert pooled_skill({"FLAT": flat}) is None
    assert pooled_skill({}) is None


def test_summary_gives_the_pooled_figures_every_tickers_row_and_the_skipped():
    table = summary({"SMALL": SMALL, "BIG": BIG},
                    {"ZZZ": "prepare: data/external/ZZZ.csv: no rows", "AAA": "train: 12 training windows, too few"},
                    "ticker")

    assert list(table) == ["scope", "count", "beat_naive", "share_beat_naive", "median_skill", "mean_skill",
                           "pooled_skill", "skipped_count", "skipped", "tickers"]
    assert (table["scope"], table["count"], table["beat_naive"], table["share_beat_naive"]) == ("ticker", 2, 1, 0.5)
    # Skills +2/3 and -1: median and mean (2/3 - 1) / 2 = -1/6.
    assert table["median_skill"] == pytest.approx(-1 / 6)
    assert table["mean_skill"] == pytest.approx(-1 / 6)
    assert table["pooled_skill"] == pytest.approx(0.5)
    assert table["skipped_count"] == 2
    assert list(table["skipped"].items()) == [("AAA", "train: 12 training windows, too few"),
                                             ("ZZZ", "prepare: data/external/ZZZ.csv: no rows")]
    assert list(table["tickers"]) == ["BIG", "SMALL"]
    assert table["tickers"]["BIG"] == summary_row(BIG)


def test_summary_of_no_ticker_has_no_figures():
    table = summary({}, {"AAPL": "download_prices: data/external/AAPL.csv: no rows"}, "global")

    assert (table["scope"], table["count"], table["beat_naive"]) == ("global", 0, 0)
    assert (table["share_beat_naive"], table["median_skill"], table["mean_skill"], table["pooled_skill"]) == (
        None, None, None, None)
    assert (table["skipped_count"], table["tickers"]) == (1, {})


def test_markdown_table_pooled_line_first_then_the_best_skill_first_then_the_skipped():
    table = summary({"SMALL": SMALL, "BIG": BIG}, {"ZZZ": "prepare: no rows", "AAA": "train: too few windows"},
                    "ticker")

    assert markdown_table(table).splitlines() == [
        "**1 of 2 tickers (50.0%) beat the naive forecast**; median skill -0.1667, pooled skill +0.5000 "
        f"(model.scope ticker; pooled over every test day in scaled units: {POOLED_UNITS}).",
        "",
        "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage "
        "| skill sd (folds / seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
        "| SMALL | 2015-01-02 .. 2018-12-31 (300) | 2.00 | 6.00 | +0.6667 | beats naive | 1.50 | 87.5% "
        "| 0.0200 (2) / - (1) |",
        "| BIG | 2015-01-02 .. 2018-12-31 (100) | 100.00 | 50.00 | -1.0000 | **loses to naive** | 0.80 | 87.5% "
        "| - (2) / 0.1250 (3) |",
        "",
        "2 tickers skipped:",
        "",
        "- AAA: train: too few windows",
        "- ZZZ: prepare: no rows",
    ]


def test_markdown_table_orders_by_skill_then_by_ticker():
    # Sorted by ticker the summary holds ALSO, BIG, MID, SMALL; by skill SMALL and ALSO tie at +2/3.
    table = summary({"SMALL": SMALL, "BIG": BIG, "ALSO": SMALL, "MID": metrics(100, 5.0, 5.0, 1.0, 1.0)}, {},
                    "global")

    rows = [line.split(" | ")[0].removeprefix("| ") for line in markdown_table(table).splitlines()[4:]]

    assert rows == ["ALSO", "SMALL", "MID", "BIG"]
    assert "skipped" not in markdown_table(table)
    assert table["median_skill"] == pytest.approx((0 + 2 / 3) / 2)


def test_markdown_table_of_no_ticker_says_so_and_lists_the_skipped():
    table = summary({}, {"AAPL": "download_prices: no rows"}, "ticker")

    assert markdown_table(table) == (
        "No ticker was evaluated.\n\n1 ticker skipped:\n\n- AAPL: download_prices: no rows\n")
