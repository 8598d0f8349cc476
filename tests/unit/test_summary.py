"""The universe's summary on literal metrics: each ticker's row, the pooled skill by hand, and the markdown table."""

import math
import statistics

import pytest
from scipy import stats

from stockpipe.summary import POOLED_UNITS, interval_summary, markdown_table, pooled_skill, summary, summary_row


def interval_scores(n_test, coverage, by_volatility, worst, mean_width):
    """One set of intervals' diagnostics as evaluate writes them: misses from the coverage, worst over 250 days."""
    low, mid, high = by_volatility
    return {"coverage": coverage, "coverage_by_volatility": {"low": low, "mid": mid, "high": high},
            "worst_rolling_coverage": worst, "rolling_days": min(250, n_test), "mean_width": mean_width,
            "mean_width_share": 0.026, "winkler": 1.4 * mean_width, "misses": round(n_test * (1 - coverage)),
            "kupiec_p": 0.64, "christoffersen_p": 0.18}


def metrics(n_test, rmse, naive_rmse, mae, mase, fold_std=None, seed_skills=None, dm_p_value=0.41,
            significance=0.05, coverage=0.87, by_volatility=(0.93, 0.86, 0.82), worst=0.82, width_vs_garch_t=0.96):
    """One ticker's test metrics as evaluate writes them (two walk-forward folds), with skill 1 - rmse / naive.

    ``seed_skills`` are each seed's own skill (seeds 42, 43, ...; one seed: the headline's); the headline
    rmse is the seed ensemble's. The Diebold-Mariano statistic is the t quantile of ``dm_p_value``, positive
    when the model loses; the GARCH-t intervals are ``width_vs_garch_t`` times narrower than the chosen ones.
    """
    skill = 1 - rmse / naive_rmse
    seed_skills = [skill] if seed_skills is None else seed_skills
    statistic = None if dm_p_value is None else math.copysign(stats.t.isf(dm_p_value / 2, n_test - 1), -skill)
    mean_width = 3.3 * naive_rmse
    return {"n_test": n_test, "rmse": rmse, "naive_rmse": naive_rmse, "mae": mae, "mase": mase, "skill": skill,
            "beats_naive": skill > 0, "direction_accuracy": 0.5,
            "dm_statistic": statistic, "dm_p_value": dm_p_value, "significance": significance,
            "significant": dm_p_value is not None and dm_p_value < significance,
            "interval_method": "adaptive", "interval_coverage_target": 0.9, "interval_coverage": coverage,
            "interval_width_vs_garch_t": width_vs_garch_t,
            "intervals": interval_scores(n_test, coverage, by_volatility, worst, mean_width),
            "intervals_garch_t": interval_scores(n_test, 0.92, (0.95, 0.92, 0.89), 0.88,
                                                 mean_width / width_vs_garch_t),
            "folds": {"count": 2, "skill": {"std": fold_std},
                      "per_fold": {"1": {"first": "2015-01-02", "last": "2016-12-30"},
                                   "2": {"first": "2017-01-03", "last": "2018-12-31"}}},
            "seeds": {"count": len(seed_skills),
                      "skill": {"std": statistics.stdev(seed_skills) if len(seed_skills) > 1 else None},
                      "per_seed": {str(seed): {"rmse": naive_rmse * (1 - seed_skill), "skill": seed_skill}
                                   for seed, seed_skill in enumerate(seed_skills, start=42)}}}


# Two tickers at very different prices. SMALL: scale mae / mase = 3 / 1.5 = 2, so rmse 2 and naive 6 are 1 and 3
# in scaled units, on 300 test days (skill 1 - 2/6 = +0.6667). BIG: scale 40 / 0.8 = 50, so rmse 100 and naive
# 50 are 2 and 1, on 100 days (skill 1 - 100/50 = -1). Both differ from naive significantly (DM p < 0.05).
# BIG's three seeds score -1.25, -1.125 and -1 on their own (sample sd 0.125); their ensemble, the headline, -1.
# SMALL's intervals held 87% of its closes (82% on the most volatile third of days, 82% over its worst 250 days);
# BIG's, on 100 days only, 91% (88%; its worst "250 days" are all 100 of them), 1.04 times GARCH-t's width.
SMALL = metrics(300, 2.0, 6.0, 3.0, 1.5, fold_std=0.02, dm_p_value=0.0012)
BIG = metrics(100, 100.0, 50.0, 40.0, 0.8, seed_skills=[-1.25, -1.125, -1.0], dm_p_value=3.1e-05, coverage=0.91,
              by_volatility=(0.94, 0.91, 0.88), worst=0.91, width_vs_garch_t=1.04)


def test_summary_row_spans_the_folds_and_keeps_the_test_errors_and_their_spread():
    assert summary_row(SMALL) == {
        "first": "2015-01-02", "last": "2018-12-31", "n_test": 300, "rmse": 2.0, "naive_rmse": 6.0,
        "skill": pytest.approx(2 / 3), "beats_naive": True, "dm_p_value": 0.0012, "significance": 0.05,
        "significant": True, "mase": 1.5, "interval_coverage": 0.87, "interval_width_vs_garch_t": 0.96,
        "verdict": "beats naive, significantly (DM p = 0.0012)",
        "interval_coverage_high_volatility": 0.82, "interval_worst_rolling_coverage": 0.82,
        "folds": 2, "fold_skill_std": 0.02, "seeds": 1, "seed_skill_std": None,
        "first_seed_skill": pytest.approx(2 / 3)}


def test_summary_row_of_several_seeds_keeps_the_first_seeds_skill_beside_the_ensembles():
    row = summary_row(BIG)

    assert (row["skill"], row["first_seed_skill"]) == (-1.0, -1.25)
    assert (row["seeds"], row["seed_skill_std"]) == (3, pytest.approx(0.125))
    assert row["verdict"] == "loses to naive, significantly (DM p = 3.1e-05)"
    assert (row["interval_coverage_high_volatility"], row["interval_worst_rolling_coverage"]) == (0.88, 0.91)


@pytest.mark.parametrize(("rmse", "dm_p_value", "significance", "significant", "verdict"), [
    (5.1, 0.41, 0.05, False, "loses to naive, not significantly (DM p = 0.41)"),
    (5.1, 0.05, 0.05, False, "loses to naive, not significantly (DM p = 0.05)"),  # at the level: not below it
    (5.1, 0.03, 0.01, False, "loses to naive, not significantly (DM p = 0.03)"),  # the metrics' own level
    (5.1, 0.03, 0.05, True, "loses to naive, significantly (DM p = 0.03)"),
    (5.0, None, 0.05, False, "ties with naive"),  # the model's errors are naive's: no test, no words
])
def test_summary_row_verdict_says_how_significant(rmse, dm_p_value, significance, significant, verdict):
    row = summary_row(metrics(100, rmse, 5.0, 4.0, 1.0, dm_p_value=dm_p_value, significance=significance))

    assert (row["dm_p_value"], row["significant"], row["verdict"]) == (dm_p_value, significant, verdict)


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

    assert list(table) == ["scope", "count", "beat_naive", "share_beat_naive", "significance", "significantly_better",
                           "significantly_worse", "median_skill", "mean_skill", "median_first_seed_skill",
                           "pooled_skill", "intervals", "skipped_count", "skipped", "tickers"]
    assert (table["scope"], table["count"], table["beat_naive"], table["share_beat_naive"]) == ("ticker", 2, 1, 0.5)
    # SMALL beats naive and BIG loses to it, each with DM p < 0.05.
    assert (table["significance"], table["significantly_better"], table["significantly_worse"]) == (0.05, 1, 1)
    # Skills +2/3 and -1: median and mean (2/3 - 1) / 2 = -1/6.
    assert table["median_skill"] == pytest.approx(-1 / 6)
    assert table["mean_skill"] == pytest.approx(-1 / 6)
    # The first seeds alone: SMALL's own +2/3 and BIG's seed 42 at -1.25, median (2/3 - 5/4) / 2 = -7/24.
    assert table["median_first_seed_skill"] == pytest.approx(-7 / 24)
    assert table["pooled_skill"] == pytest.approx(0.5)
    assert table["intervals"] == interval_summary(table["tickers"], 0.9)
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
    assert (table["significantly_better"], table["significantly_worse"]) == (0, 0)
    assert (table["median_first_seed_skill"], table["intervals"]) == (None, None)
    assert (table["skipped_count"], table["tickers"]) == (1, {})


def test_summary_counts_only_significant_wins_and_losses():
    table = summary({
        "WIN": metrics(100, 4.0, 5.0, 3.0, 1.0, dm_p_value=0.004),  # +0.2, significantly
        "LUCKY": metrics(100, 4.9, 5.0, 3.0, 1.0, dm_p_value=0.62),  # +0.02, not significantly
        "LOSE": metrics(100, 6.0, 5.0, 3.0, 1.0, dm_p_value=0.0007),  # -0.2, significantly
        "EDGE": metrics(100, 5.5, 5.0, 3.0, 1.0, dm_p_value=0.05),  # -0.1, p at the level: not significantly
        "TIE": metrics(100, 5.0, 5.0, 3.0, 1.0, dm_p_value=None),  # 0, naive's very errors: neither
    }, {}, "ticker", significance=0.05)

    assert (table["beat_naive"], table["significantly_better"], table["significantly_worse"]) == (2, 1, 1)
    assert table["tickers"]["TIE"]["verdict"] == "ties with naive"


def test_summary_reports_the_level_it_was_given():
    table = summary({"WIN": metrics(100, 4.0, 5.0, 3.0, 1.0, dm_p_value=0.004, significance=0.01)}, {}, "ticker",
                    significance=0.01)

    assert (table["significance"], table["significantly_better"], table["significantly_worse"]) == (0.01, 1, 0)


def test_summary_median_first_seed_skill_beside_the_ensembles():
    # Three tickers of three seeds each. Ensembles +0.1, -0.05, +0.02 (median +0.02); their first seeds alone
    # +0.04, -0.12, -0.01 (median -0.01): the single model loses where the ensemble beats naive.
    table = summary({
        "A": metrics(100, 4.5, 5.0, 3.0, 1.0, seed_skills=[0.04, 0.06, 0.08]),
        "B": metrics(100, 5.25, 5.0, 3.0, 1.0, seed_skills=[-0.12, -0.08, -0.07]),
        "C": metrics(100, 4.9, 5.0, 3.0, 1.0, seed_skills=[-0.01, 0.0, 0.01]),
    }, {}, "ticker")

    assert table["median_skill"] == pytest.approx(0.02)
    assert table["median_first_seed_skill"] == pytest.approx(-0.01)
    assert [row["first_seed_skill"] for row in table["tickers"].values()] == [0.04, -0.12, -0.01]


def test_summary_of_one_seed_has_the_same_median_for_the_first_seed():
    table = summary({"SMALL": SMALL, "MID": metrics(100, 5.0, 5.0, 1.0, 1.0)}, {}, "ticker")

    assert table["median_first_seed_skill"] == pytest.approx(table["median_skill"]) == pytest.approx(1 / 3)


def interval_row(coverage=0.9, high=0.9, worst=0.85, width=1.0):
    """The four figures of a summary row that interval_summary reads; by default inside every bound."""
    return {"interval_coverage": coverage, "interval_coverage_high_volatility": high,
            "interval_worst_rolling_coverage": worst, "interval_width_vs_garch_t": width}


COUNTS = ("outside_tolerance", "high_volatility_short", "worst_rolling_short", "wider_than_garch_t")


# Bounds around a 90% target: coverage within 0.88 .. 0.92, the volatile third at least 0.85, the worst 250 days at
# least 0.80, the width at most 1.1 times GARCH-t's. Each value on its bound counts for nothing; just past it, for
# its own count only.
@pytest.mark.parametrize(("change", "counted"), [
    ({"coverage": 0.88}, None), ({"coverage": 0.8799}, "outside_tolerance"),
    ({"coverage": 0.92}, None), ({"coverage": 0.9201}, "outside_tolerance"),
    ({"high": 0.85}, None), ({"high": 0.8499}, "high_volatility_short"),
    ({"high": None}, None),  # no day in the volatile third: nothing to be short of
    ({"worst": 0.80}, None), ({"worst": 0.7999}, "worst_rolling_short"),
    ({"width": 1.1}, None), ({"width": 1.1001}, "wider_than_garch_t"),
])
def test_interval_summary_counts_a_series_just_past_each_bound_and_not_on_it(change, counted):
    result = interval_summary({"AAA": interval_row(**change)}, 0.9)

    assert {key: result[key] for key in COUNTS} == {key: int(key == counted) for key in COUNTS}


def test_interval_summary_bounds_follow_the_target():
    # A 95% target: coverage within 0.93 .. 0.97, the volatile third at least 0.90, the worst days at least 0.85.
    inside = interval_row(coverage=0.93, high=0.90, worst=0.85)
    past = interval_row(coverage=0.9299, high=0.8999, worst=0.8499)

    assert [interval_summary({"AAA": row}, 0.95)[key] for row in (inside, past) for key in COUNTS[:3]] == [
        0, 0, 0, 1, 1, 1]
    assert interval_summary({"AAA": interval_row(coverage=0.97)}, 0.95)["outside_tolerance"] == 0


def test_interval_summary_medians_and_counts_by_hand():
    rows = {"A": interval_row(coverage=0.87, high=0.82, worst=0.78, width=0.96),  # outside, short, short
            "B": interval_row(coverage=0.91, high=None, worst=0.86, width=1.25),  # wider
            "C": interval_row(coverage=0.95, high=0.84, worst=0.88, width=1.04),  # outside, short
            "D": interval_row(coverage=0.89, high=0.90, worst=0.81, width=1.12)}  # wider

    assert interval_summary(rows, 0.9) == {
        "target": 0.9,
        "median_coverage": pytest.approx((0.89 + 0.91) / 2), "outside_tolerance": 2,
        # B has no volatile third: the median of the other three, 0.84.
        "median_coverage_high_volatility": pytest.approx(0.84), "high_volatility_short": 2,
        "median_worst_rolling_coverage": pytest.approx((0.81 + 0.86) / 2), "worst_rolling_short": 1,
        "median_width_vs_garch_t": pytest.approx((1.04 + 1.12) / 2), "wider_than_garch_t": 2}


def test_interval_summary_without_a_volatile_third_anywhere_has_no_median_for_it():
    result = interval_summary({"A": interval_row(high=None), "B": interval_row(high=None)}, 0.9)

    assert (result["median_coverage_high_volatility"], result["high_volatility_short"]) == (None, 0)


def test_summary_intervals_of_small_and_big_by_hand():
    table = summary({"SMALL": SMALL, "BIG": BIG}, {}, "ticker")

    # SMALL: 87% is 3 points short of 90% (outside), 82% on volatile days is short of 85%, its worst 82% is not
    # short of 80%, width 0.96. BIG: 91%, 88%, 91%, width 1.04: inside every bound.
    assert table["intervals"] == {
        "target": 0.9, "median_coverage": pytest.approx(0.89), "outside_tolerance": 1,
        "median_coverage_high_volatility": pytest.approx(0.85), "high_volatility_short": 1,
        "median_worst_rolling_coverage": pytest.approx(0.865), "worst_rolling_short": 0,
        "median_width_vs_garch_t": pytest.approx(1.0), "wider_than_garch_t": 0}


def test_markdown_table_pooled_line_first_then_the_best_skill_first_then_the_skipped():
    table = summary({"SMALL": SMALL, "BIG": BIG}, {"ZZZ": "prepare: no rows", "AAA": "train: too few windows"},
                    "ticker")

    assert markdown_table(table).splitlines() == [
        "**1 of 2 tickers (50.0%) beat the naive forecast**, 1 significantly; 1 lose to it significantly "
        "(Diebold-Mariano p < 0.05). Median skill -0.1667, pooled skill +0.5000 "
        f"(model.scope ticker; pooled over every test day in scaled units: {POOLED_UNITS}).",
        "",
        "90% intervals: median coverage 89.0%, 1 of 2 series more than 2 points from 90%; on the most volatile "
        "third of days median 85.0%; median width 1.00x the GARCH-t interval's.",
        "",
        "| ticker | test days | RMSE | naive RMSE | skill | verdict | MASE | interval coverage (volatile days) "
        "| skill sd (folds / seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
        "| SMALL | 2015-01-02 .. 2018-12-31 (300) | 2.00 | 6.00 | +0.6667 | beats naive, significantly "
        "(DM p = 0.0012) | 1.50 | 87.0% (82.0%) | 0.0200 (2) / - (1) |",
        "| BIG | 2015-01-02 .. 2018-12-31 (100) | 100.00 | 50.00 | -1.0000 | **loses to naive, significantly "
        "(DM p = 3.1e-05)** | 0.80 | 91.0% (88.0%) | - (2) / 0.1250 (3) |",
        "",
        "2 tickers skipped:",
        "",
        "- AAA: train: too few windows",
        "- ZZZ: prepare: no rows",
    ]


def test_markdown_table_intervals_line_at_another_target_and_without_a_volatile_third():
    table = summary({"AAA": metrics(100, 4.0, 5.0, 3.0, 1.0, coverage=0.96, by_volatility=(1.0, 0.94, None),
                                    worst=0.96, width_vs_garch_t=1.234)}, {}, "ticker", coverage=0.95)

    lines = markdown_table(table).splitlines()

    assert lines[2] == ("95% intervals: median coverage 96.0%, 0 of 1 series more than 2 points from 95%; on the "
                        "most volatile third of days median n/a; median width 1.23x the GARCH-t interval's.")
    assert lines[6].split(" | ")[7] == "96.0% (n/a)"


def test_markdown_table_verdicts_say_how_significant_and_bold_only_the_losses():
    table = summary({"LOSE": metrics(100, 5.5, 5.0, 3.0, 1.0, dm_p_value=0.41),
                     "TIE": metrics(100, 5.0, 5.0, 3.0, 1.0, dm_p_value=None),
                     "WIN": metrics(100, 4.9, 5.0, 3.0, 1.0, dm_p_value=0.62)}, {}, "ticker")

    verdicts = [line.split(" | ")[5] for line in markdown_table(table).splitlines()[6:]]

    assert verdicts == ["beats naive, not significantly (DM p = 0.62)", "ties with naive",
                        "**loses to naive, not significantly (DM p = 0.41)**"]
    assert markdown_table(table).splitlines()[0].startswith(
        "**1 of 3 tickers (33.3%) beat the naive forecast**, 0 significantly; 0 lose to it significantly ")


def test_markdown_table_orders_by_skill_then_by_ticker():
    # Sorted by ticker the summary holds ALSO, BIG, MID, SMALL; by skill SMALL and ALSO tie at +2/3.
    table = summary({"SMALL": SMALL, "BIG": BIG, "ALSO": SMALL, "MID": metrics(100, 5.0, 5.0, 1.0, 1.0)}, {},
                    "global")

    rows = [line.split(" | ")[0].removeprefix("| ") for line in markdown_table(table).splitlines()[6:]]

    assert rows == ["ALSO", "SMALL", "MID", "BIG"]
    assert "skipped" not in markdown_table(table)
    assert table["median_skill"] == pytest.approx((0 + 2 / 3) / 2)


def test_markdown_table_of_no_ticker_says_so_and_lists_the_skipped():
    table = summary({}, {"AAPL": "download_prices: no rows"}, "ticker")

    assert markdown_table(table) == (
        "No ticker was evaluated.\n\n1 ticker skipped:\n\n- AAPL: download_prices: no rows\n")
