"""Stage summary: every ticker's test errors beside the naive forecast, pooled figures, and the skill spread.

Also the pictures of the test period (metrics/plots/): the main ticker's calibration and gain/loss
against naive, and the universe's skill and coverage, each as a table for `dvc plots` and a PNG.
"""

import argparse
import logging
from pathlib import Path

import pandas as pd

from stockpipe import columns as col
from stockpipe import plots
from stockpipe.adapters.io import (
    atomic_path,
    batch_file,
    batch_files,
    read_json_object,
    read_ticker_rows,
    run_stage,
    write_csv,
    write_json,
    write_png,
)
from stockpipe.metrics import verdict_words
from stockpipe.params import load_params
from stockpipe.summary import markdown_table, summary
from stockpipe.universe import batch_of

log = logging.getLogger("summary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics_dir", help="folder of every batch's metrics JSON from evaluate")
    parser.add_argument("--json", required=True)
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--skill", required=True, help="CSV of each ticker's skill, sorted, for `dvc plots`")
    parser.add_argument("--plots", required=True, help="folder of the pictures' tables and PNGs to write into")
    args = parser.parse_args()
    params = load_params()
    metrics, skipped = {}, {}
    for path in batch_files(args.metrics_dir, params.data.batches, ".json"):
        batch = read_json_object(path)
        metrics.update(batch["tickers"])
        skipped.update(batch["skipped"])
    # Checked before anything is written: a plots.ticker without results stops the stage with its outputs as they were.
    tickers = params.data.tickers
    ticker = plots.main_ticker(params.plots.ticker, None if tickers == "all" else tickers, metrics)
    predictions = None if ticker is None else read_ticker_rows(
        batch_file(args.metrics_dir, batch_of(ticker, len(params.data.batches)), ".csv"), ticker,
        (col.ACTUAL, col.PREDICTED, col.NAIVE, col.FOLD, col.LOWER, col.UPPER))
    table = summary(metrics, skipped, params.model.scope, params.predict.coverage, params.evaluate.significance)
    write_json(table, args.json)
    with atomic_path(args.markdown) as tmp:
        tmp.write_text(markdown_table(table), encoding="utf-8")
    skills = sorted((row["skill"], ticker) for ticker, row in table["tickers"].items())
    skill_table = pd.DataFrame({plots.RANK: range(1, len(skills) + 1), col.TICKER: [ticker for _, ticker in skills],
                                plots.SKILL: [skill for skill, _ in skills]})
    write_csv(skill_table, args.skill)
    draw(Path(args.plots), ticker, predictions, metrics, skill_table, params.predict.coverage)
    if table["count"]:
        log.info("%d of %d tickers beat the naive forecast, %d significantly; %d lose to it significantly (median "
                 "skill %+.4f, pooled %s); %d skipped", table["beat_naive"], table["count"],
                 table["significantly_better"], table["significantly_worse"], table["median_skill"],
                 "n/a" if table["pooled_skill"] is None else f"{table['pooled_skill']:+.4f}", len(skipped))
        intervals = table["intervals"]
        log.info("%.0f%% intervals: median coverage %.1f%%, %d of %d series outside +-2 points; median width %.2fx "
                 "the GARCH-t interval's", 100 * intervals["target"], 100 * intervals["median_coverage"],
                 intervals["outside_tolerance"], table["count"], intervals["median_width_vs_garch_t"])


def draw(folder: Path, ticker: str | None, predictions: pd.DataFrame | None, metrics: dict[str, dict],
         skill_table: pd.DataFrame, coverage: float) -> None:
    """The main ticker's calibration and gain/loss pictures and the universe's, tables and PNGs into ``folder``."""
    if ticker is None:
        for name, columns in (("calibration", plots.CALIBRATION_COLUMNS), ("gain_loss", plots.GAIN_LOSS_COLUMNS),
                              ("coverage", plots.COVERAGE_COLUMNS)):
            write_csv(pd.DataFrame(columns=columns), folder / f"{name}.csv")
        for name in ("calibration", "gain_loss", "universe"):
            write_png(plots.empty_figure("every ticker was skipped: no test results to draw"), folder / f"{name}.png")
        return
    calibration = plots.calibration_table(predictions, coverage)
    write_csv(calibration, folder / "calibration.csv")
    write_png(plots.calibration_figure(calibration, ticker, coverage), folder / "calibration.png")
    gain_loss = plots.gain_loss_table(predictions)
    write_csv(gain_loss, folder / "gain_loss.csv")
    write_png(plots.gain_loss_figure(gain_loss, ticker, verdict_words(metrics[ticker])), folder / "gain_loss.png")
    coverages = plots.coverage_table(metrics, coverage)
    write_csv(coverages, folder / "coverage.csv")
    write_png(plots.universe_figure(skill_table, coverages, coverage), folder / "universe.png")
    log.info("pictures of %s's test period and of %d tickers in %s", ticker, len(metrics), folder)


if __name__ == "__main__":
    run_stage(main)
