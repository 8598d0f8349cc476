"""How predict.gamma and predict.volatility were chosen: adaptive intervals around naive forecasts on half the universe.

Reads the S&P 500 members in ../shared/data/prices/sp500_5yr/ whose CRC-32 is odd (the other
half is held out: benchmarks/measure_intervals.py reports it apart) and splits each like the
pipeline's defaults (49 warm-up rows dropped, then 70% train, 10% validation, 20% test). Around
the naive forecast, whose errors are the daily returns (the LSTM's differ from them by about a
percent of skill), it scores on the test days: split conformal, the plain GARCH-t interval, and
adaptive intervals for each volatility model and gamma in 0, 0.005, 0.01, 0.02 and 0.05, with the
same functions the pipeline runs (src/stockpipe/intervals.py). The rule: the smallest gamma that
puts no series outside 88-92%, then the volatility model with the lower mean Winkler score.

    .venv/bin/python benchmarks/tune_intervals.py   # about 10 seconds
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from stockpipe.intervals import (  # noqa: E402
    adaptive_conformal,
    band,
    conformal_quantile,
    diagnostics,
    scaled_scores,
    volatility,
)

UNIVERSE = Path(__file__).resolve().parents[2] / "shared" / "data" / "prices" / "sp500_5yr"
WARM_UP, COVERAGE, GAMMAS = 49, 0.9, (0.0, 0.005, 0.01, 0.02, 0.05)


def scores_of(close: np.ndarray) -> list[dict]:
    """Each method's diagnostics on one series' test days, around the naive forecast."""
    n = len(close)
    test, val = round(n * 0.2), round(n * 0.1)
    train = n - test - val
    val_rows, test_rows = np.arange(train, train + val), np.arange(train + val, n)
    actual, naive = close[test_rows], close[test_rows - 1]
    rows = []
    for model in ("garch", "ewma"):
        fitted = volatility(close, train, model)
        sigma = fitted.sigma[test_rows]
        calibration = scaled_scores(close[val_rows], close[val_rows - 1], fitted.sigma[val_rows])
        for gamma in GAMMAS:
            multipliers = adaptive_conformal(calibration, scaled_scores(actual, naive, sigma), COVERAGE,
                                             gamma).multipliers
            rows.append({"method": f"adaptive {model} gamma {gamma}",
                         **diagnostics(actual, *band(naive, multipliers * sigma), sigma, COVERAGE)})
        garch_t = fitted.quantile(1 - (1 - COVERAGE) / 2) * sigma
        rows.append({"method": f"{model}-t", **diagnostics(actual, *band(naive, garch_t), sigma, COVERAGE)})
        if model == "garch":
            halfwidth = conformal_quantile(np.sort(np.abs(np.log(close[val_rows] / close[val_rows - 1]))), COVERAGE)
            rows.append({"method": "split", **diagnostics(actual, *band(naive, np.full(len(naive), halfwidth)),
                                                          sigma, COVERAGE)})
            widths = rows[-1]["mean_width"], rows[-2]["mean_width"]
    for row in rows:
        row["width_vs_garch_t"] = row["mean_width"] / widths[1]
    return rows


def main() -> None:
    if not UNIVERSE.is_dir():
        sys.exit(f"{UNIVERSE}: not found (the shared data folder beside the project)")
    rows = []
    for path in sorted(UNIVERSE.glob("*_data.csv")):
        ticker = path.name.removesuffix("_data.csv")
        if zlib.crc32(ticker.encode()) % 2 == 0:
            continue  # held out
        close = pd.read_csv(path)["close"].dropna().to_numpy(dtype="float64")[WARM_UP:]
        if len(close) >= 800:
            rows += [{"ticker": ticker, **row} for row in scores_of(close)]
    table = pd.DataFrame(rows)
    high = table["coverage_by_volatility"].map(lambda terciles: terciles["high"])
    summary = table.assign(high=high).groupby("method", sort=False).agg(
        series=("coverage", "size"), median_coverage=("coverage", "median"),
        outside_88_92=("coverage", lambda values: int((abs(values - COVERAGE) > 0.02).sum())),
        volatile_under_85=("high", lambda values: int((values < 0.85).sum())),
        worst_250_under_80=("worst_rolling_coverage", lambda values: int((values < 0.80).sum())),
        median_width_vs_garch_t=("width_vs_garch_t", "median"), mean_winkler=("winkler", "mean"))
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
