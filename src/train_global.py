"""Stage train_global: with model.scope global, one LSTM trained on the pooled windows of every ticker.

Each ticker's windows are scaled with its own training-slice statistics (its spec, written
under specs/<ticker>/), so a $5 stock and a $2,000 one look alike to the model. Early stopping
watches the pooled validation windows. Walk-forward folds and seeds work as for per-ticker
models: fold k pools every ticker's k-th fold, less every window dated on or after the first
test day of any ticker in that fold (a stock listed later has training rows in the test years of
older ones). With model.scope ticker this stage writes only a note: the models are train's.
"""

import argparse
import contextlib
import logging
import os

import numpy as np

from stockpipe import columns as col
from stockpipe.adapters.io import atomic_dir, batch_files, read_parquet, run_stage, write_json
from stockpipe.backtest import model_file, seed_values, spec_file, split_sizes_of
from stockpipe.errors import PipelineError
from stockpipe.params import load_params
from stockpipe.splitting import walk_forward_folds
from stockpipe.universe import by_ticker, run_each, skips_failing
from stockpipe.windows import check_window_fits, fold_arrays, input_columns, windows_before

# TensorFlow's C++ start-up lines (CUDA probing on CPU-only machines, oneDNN notes) bury the stage
# log; TF_CPP_MIN_LOG_LEVEL=0 shows them. Set by the entry point, before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
log = logging.getLogger("train_global")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features_dir", help="folder of every batch's features parquet from prepare")
    parser.add_argument("model_dir", help="folder to write: model.keras, backtest models, specs/<ticker>/, live/")
    args = parser.parse_args()
    params = load_params()
    model_params, train_params = params.model, params.train
    with atomic_dir(args.model_dir) as model_dir:
        if model_params.scope != "global":
            write_json({"scope": model_params.scope, "tickers": []}, model_dir / "trained.json")
            log.info("model.scope is %s: each ticker's models are train's; nothing to train here", model_params.scope)
            return
        # Imported here: TensorFlow takes seconds to import, and with model.scope ticker this stage has no use for it.
        from dvclive import Live

        from stockpipe.adapters.model import (
            configure_threads,
            live_callback,
            model_from_params,
            recurrent_kernels,
            train_and_save,
        )

        configure_threads()
        series, skipped, skip = {}, {}, False
        for path in batch_files(args.features_dir, params.data.batches):
            table = read_parquet(path)
            skipped.update(table.attrs.get("skipped", {}))
            skip = skip or skips_failing(table)
            series.update(by_ticker(table))
        inputs = input_columns(params.features, model_params.target, bool(params.news.social),
                               sessions=any(col.SESSION in table for table in series.values()))

        def folds_of(ticker: str):
            folds = walk_forward_folds(*split_sizes_of(series[ticker]), params.evaluate.folds)
            check_window_fits(model_params.window, folds[0].train_stop)
            return folds

        folds = run_each(sorted(series), folds_of, skip, "train_global", skipped)
        if not folds:
            raise PipelineError(f"no ticker of {len(series) + len(skipped)} has enough rows to train on ("
                                f"{'; '.join(f'{t}: {r}' for t, r in list(skipped.items())[:3])})")
        seeds = seed_values(params.seed, train_params.seeds)
        kernels = recurrent_kernels(model_from_params(params.model, params.train, len(inputs)))
        log.info("recurrent kernels: %s", ", ".join(kernels) or "none")
        dates = {ticker: series[ticker][col.DATE].to_numpy() for ticker in folds}
        for number in range(1, params.evaluate.folds + 1):
            last = number == params.evaluate.folds
            # The model of this fold predicts every ticker's test block: it learns from nothing dated
            # on or after the earliest of them.
            cutoff = min(dates[ticker][ticker_folds[number - 1].val_stop] for ticker, ticker_folds in folds.items())
            parts = {name: [] for name in ("x_train", "y_train", "x_val", "y_val")}
            cut = 0
            for ticker, ticker_folds in folds.items():
                fold = ticker_folds[number - 1]
                data = fold_arrays(series[ticker], fold.train_stop, fold.val_stop, inputs, model_params.target,
                                   model_params.window)
                write_json(data.spec.to_dict(), spec_file(model_dir / "specs" / ticker, number, last=last))
                kept = windows_before(data, dates[ticker], cutoff)
                cut += len(data.x_train) + len(data.x_val) - len(kept.x_train) - len(kept.x_val)
                for name, values in parts.items():
                    values.append(getattr(kept, name))
            pooled = {name: np.concatenate(values) for name, values in parts.items()}
            del parts, data, kept
            log.info("fold %d: pooled windows end before %s, the first test day of any ticker (%d windows of later "
                     "dates left out)", number, np.datetime_as_string(cutoff, "D"), cut)
            if not len(pooled["x_train"]) or not len(pooled["x_val"]):
                raise PipelineError(f"fold {number}: no training or validation window of any ticker ends before "
                                    f"{np.datetime_as_string(cutoff, 'D')}, the first test day of the universe")
            for seed in seeds:
                shipped = last and seed == seeds[0]
                # dvclive records the shipped model's curves, the ones `dvc plots` shows.
                live = Live(dir=str(model_dir / "live"), dvcyaml=None, save_dvc_exp=False, report=None) \
                    if shipped else None
                with live or contextlib.nullcontext():
                    fitted = train_and_save(pooled["x_train"], pooled["y_train"], pooled["x_val"], pooled["y_val"],
                                            model_params, train_params, seed=seed,
                                            path=model_file(model_dir, number, seed, shipped),
                                            callbacks=[live_callback(live)] if live else None)
                losses = fitted["val_loss"]
                log.info("fold %d/%d, seed %d: %d epochs, best pooled val_loss %.4f at epoch %d (%d tickers: %d train "
                         "/ %d val windows, %.0f training windows/s)", number, params.evaluate.folds, seed,
                         len(losses), losses[fitted["best_epoch"] - 1], fitted["best_epoch"], len(folds),
                         len(pooled["x_train"]), len(pooled["x_val"]), fitted["windows_per_second"])
        write_json({"scope": "global", "tickers": list(folds), "skipped": skipped}, model_dir / "trained.json")


if __name__ == "__main__":
    run_stage(main)
