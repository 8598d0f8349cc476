"""Stage train: with model.scope ticker, one LSTM per ticker of a batch, per walk-forward fold and seed.

Each ticker's models learn from its own training rows only, stopping early on its own
validation rows, scalers refitted per fold; a ticker's results are the same alone or in a
universe. With
model.scope global the pooled model is train_global's, and this stage writes only a note.
"""

import argparse
import logging
import os
from pathlib import Path

from stockpipe import columns as col
from stockpipe.adapters.io import atomic_dir, read_parquet, run_stage, write_json
from stockpipe.backtest import model_file, seed_values, spec_file, split_sizes_of
from stockpipe.params import load_params
from stockpipe.splitting import walk_forward_folds
from stockpipe.universe import by_ticker, run_each, skips_failing
from stockpipe.windows import check_window_fits, fold_arrays, input_columns, zeroed_inputs

# TensorFlow's C++ start-up lines (CUDA probing on CPU-only machines, oneDNN notes) bury the stage
# log; TF_CPP_MIN_LOG_LEVEL=0 shows them. Set by the entry point, before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
log = logging.getLogger("train")


def train_ticker(ticker: str, table, params, model_dir: Path) -> dict:
    """Every fold's and seed's model of one ticker into ``model_dir``; returns each model's validation losses."""
    from stockpipe.adapters.model import train_and_save
    model_params, train_params = params.model, params.train
    folds = walk_forward_folds(*split_sizes_of(table), params.evaluate.folds)
    check_window_fits(model_params.window, folds[0].train_stop)
    inputs = input_columns(params.features, model_params.target, bool(params.news.social),
                           sessions=col.SESSION in table)
    history = {}
    for fold in folds:
        data = fold_arrays(table, fold.train_stop, fold.val_stop, inputs, model_params.target, model_params.window)
        write_json(data.spec.to_dict(), spec_file(model_dir, fold.number, last=fold is folds[-1]))
        zeroed = zeroed_inputs(data.spec, table)
        if zeroed:
            log.warning("%s: %s: constant on the training rows (fold %d/%d) but not later; the model gets 0 for "
                        "them, as it never saw them vary", ticker, ", ".join(zeroed), fold.number, len(folds))
        for seed in seed_values(params.seed, train_params.seeds):
            shipped = fold is folds[-1] and seed == params.seed
            fitted = train_and_save(data.x_train, data.y_train, data.x_val, data.y_val, model_params, train_params,
                                    seed=seed, path=model_file(model_dir, fold.number, seed, shipped))
            losses = fitted["val_loss"]
            history[f"fold{fold.number}_seed{seed}"] = {"loss": fitted["loss"], "val_loss": losses}
            log.info("%s fold %d/%d, seed %d: %d epochs, best val_loss %.4f at epoch %d (%d train / %d val windows, "
                     "%.0f training windows/s)", ticker, fold.number, len(folds), seed, len(losses),
                     losses[fitted["best_epoch"] - 1], fitted["best_epoch"], len(data.x_train), len(data.x_val),
                     fitted["windows_per_second"])
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features", help="the batch's features parquet from prepare (with a part column)")
    parser.add_argument("model_dir", help="folder to write: <ticker>/model.keras, scaler.json and backtest models")
    args = parser.parse_args()
    params = load_params()
    with atomic_dir(args.model_dir) as model_dir:
        if params.model.scope != "ticker":
            write_json({"scope": params.model.scope, "tickers": []}, model_dir / "trained.json")
            log.info("model.scope is %s: the pooled model is train_global's; nothing to train here", params.model.scope)
            return
        table = read_parquet(args.features)
        skipped = dict(table.attrs.get("skipped", {}))
        series = by_ticker(table)
        if not series:
            write_json({"scope": "ticker", "tickers": [], "skipped": skipped}, model_dir / "trained.json")
            log.info("no ticker in this batch (%d skipped): nothing to train", len(skipped))
            return
        # Imported here: TensorFlow takes seconds to import, and with model.scope global or an
        # empty batch this stage has no use for it.
        from stockpipe.adapters.model import configure_threads, model_from_params, recurrent_kernels

        configure_threads()
        # Says why a run is slow: options such as recurrent_dropout rule out the fast kernels.
        kernels = recurrent_kernels(model_from_params(params.model, params.train, 1))
        log.info("recurrent kernels: %s", ", ".join(kernels) or "none")
        histories = run_each(series, lambda ticker: train_ticker(ticker, series[ticker], params, model_dir / ticker),
                             skips_failing(table), "train", skipped)
        for ticker, history in histories.items():
            write_json(history, model_dir / ticker / "history.json")
        write_json({"scope": "ticker", "tickers": list(histories), "skipped": skipped}, model_dir / "trained.json")
    log.info("%d models of %d tickers (%d skipped)", len(histories) * params.evaluate.folds * params.train.seeds,
             len(histories), len(skipped))


if __name__ == "__main__":
    run_stage(main)
