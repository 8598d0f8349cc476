"""Stage predict: forecast the next trading sessions after the last data date."""

import argparse
import logging
from pathlib import Path

from stockpipe import columns as col
from stockpipe.calendar import sessions_after
from stockpipe.errors import PipelineError
from stockpipe.forecast import recursive_forecast, validation_log_residuals, with_intervals
from stockpipe.inference import load_forecaster
from stockpipe.io import read_parquet, run_stage, write_csv
from stockpipe.metrics import conformal_halfwidth
from stockpipe.params import load_params
from stockpipe.windows import ModelSpec

log = logging.getLogger("predict")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features", help="features parquet (the whole history)")
    parser.add_argument("model_dir", help="folder with model.keras and scaler.json")
    parser.add_argument("out", help="forecast CSV to write")
    args = parser.parse_args()
    params = load_params()
    table = read_parquet(args.features)
    spec = ModelSpec.read(Path(args.model_dir) / "scaler.json")
    forecaster = load_forecaster(Path(args.model_dir) / "model.keras")
    last = table[col.DATE].iloc[-1]
    dates = sessions_after(params.data.exchange, last, params.predict.horizon)
    forecast = recursive_forecast(table, dates, spec, params.features, forecaster.predict)
    residuals = validation_log_residuals(table, spec, forecaster.predict)
    try:
        forecast = with_intervals(forecast, conformal_halfwidth(residuals, params.predict.coverage))
    except ValueError as error:
        raise PipelineError(f"params.yaml: predict.coverage: {error}") from None
    forecast[col.DATE] = forecast[col.DATE].dt.strftime("%Y-%m-%d")
    write_csv(forecast, args.out)
    log.info("last close %.2f on %s; %d-session forecast %s .. %s ends at %.2f (%.0f%% interval %.2f .. %.2f)",
             table[col.CLOSE].iloc[-1], last.date(), len(forecast), forecast[col.DATE].iloc[0],
             forecast[col.DATE].iloc[-1], forecast[col.PREDICTED_CLOSE].iloc[-1], 100 * params.predict.coverage,
             forecast[col.LOWER].iloc[-1], forecast[col.UPPER].iloc[-1])


if __name__ == "__main__":
    run_stage(main)
