"""Merge another copy of the forecast history into metrics/forecast_history.csv.

The scheduled retraining (.github/workflows/retrain.yml) builds each pull request on the base
branch, so the forecasts that earlier runs recorded while their pull request is still open are
only on that pull request's branch. This brings them back before `dvc repro`, so no live forecast
is lost while a pull request waits. Rows merge as the monitor stage records forecasts, ticker by
ticker: a scored row is never replaced. Run from the repository root:
`python scripts/carry_history.py OTHER.csv [--history metrics/forecast_history.csv]`.
"""

import argparse
import logging
import sys
from pathlib import Path

import pandas as pd

# As in scripts/pr_report.py: the stockpipe package lives in src/ and is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stockpipe import columns as col  # noqa: E402
from stockpipe.adapters.io import run_stage, write_csv  # noqa: E402
from stockpipe.errors import PipelineError  # noqa: E402
from stockpipe.monitor import (  # noqa: E402
    empty_history,
    history_from_csv,
    history_to_csv,
    record,
)

log = logging.getLogger("carry_history")


def read(path: Path) -> pd.DataFrame:
    try:
        return history_from_csv(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except ValueError as error:
        raise PipelineError(f"{path}: {error}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", help="another copy of the history, e.g. from the open pull request's branch")
    parser.add_argument("--history", default="metrics/forecast_history.csv", help="the history to merge into")
    args = parser.parse_args()
    history_path = Path(args.history)
    history = read(history_path) if history_path.exists() else empty_history()
    merged = record(history, read(Path(args.other)))
    write_csv(history_to_csv(merged), history_path)
    log.info("%s: %d rows (%d scored), %d new from %s", history_path, len(merged),
             merged[col.ACTUAL].notna().sum(), len(merged) - len(history), args.other)


if __name__ == "__main__":
    run_stage(main)
