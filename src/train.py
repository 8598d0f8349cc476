"""Stage train: fit the LSTM on each walk-forward fold's training rows, stop early on its validation rows.

With the defaults (evaluate.folds: 1, train.seeds: 1) that is one model on the training
slice. Every fold refits its scalers on its own training rows.
"""

import argparse
import contextlib
import logging
import time
from pathlib import Path

from dvclive import Live

from stockpipe.backtest import model_file, seed_values, spec_file
from stockpipe.io import atomic_dir, atomic_path, read_parquet, run_stage, write_json
from stockpipe.model import (
    build_model,
    configure_threads,
    fit_model,
    live_callback,
    recurrent_kernels,
    save_model,
    set_seed,
)
from stockpipe.params import load_params
from stockpipe.splitting import walk_forward_folds
from stockpipe.windows import check_window_fits, fold_arrays, input_columns, stack_parts, zeroed_inputs

log = logging.getLogger("train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="folder with train.parquet, val.parquet and test.parquet")
    parser.add_argument("model_dir", help="folder for model.keras, scaler.json and the backtest's models")
    parser.add_argument("--live-dir", required=True, help="dvclive folder for the shipped model's per-epoch losses")
    args = parser.parse_args()
    configure_threads()
    params = load_params()
    model_params, train_params = params.model, params.train
    parts = [read_parquet(Path(args.split_dir) / f"{name}.parquet") for name in ("train", "val", "test")]
    table = stack_parts(parts)
    folds = walk_forward_folds(*map(len, parts), params.evaluate.folds)
    check_window_fits(model_params.window, folds[0].train_stop)
    inputs = input_columns(params.features, model_params.target)
    seeds = seed_values(params.seed, train_params.seeds)

    # Every fold's scalers and models replace the folder together when all have trained: a failure
    # leaves the previous run's files, never new scalers beside old models.
    with atomic_dir(args.model_dir) as model_dir:
        for fold in folds:
            data = fold_arrays(table, fold.train_stop, fold.val_stop, inputs, model_params.target, model_params.window)
            write_json(data.spec.to_dict(), spec_file(model_dir, fold.number, last=fold is folds[-1]))
            zeroed = zeroed_inputs(data.spec, table)
            if zeroed:
                log.warning("%s: constant on the training rows (fold %d/%d) but not later; the model gets 0 for them, "
                            "as it never saw them vary", ", ".join(zeroed), fold.number, len(folds))
            for seed in seeds:
                shipped = fold is folds[-1] and seed == seeds[0]
                set_seed(seed)
                model = build_model(model_params.window, len(inputs), model_params.layers, model_params.units,
                                    model_params.dropout, train_params.learning_rate, cell=model_params.cell,
                                    bidirectional=model_params.bidirectional,
                                    recurrent_dropout=model_params.recurrent_dropout, l2=model_params.l2,
                                    dense_units=model_params.dense_units)
                if fold is folds[0] and seed == seeds[0]:
                    # Says why a run is slow: options such as recurrent_dropout rule out the fast kernels.
                    log.info("recurrent kernels: %s", ", ".join(recurrent_kernels(model)) or "none")
                started = time.perf_counter()
                # dvclive records the shipped model's curves, the ones `dvc plots` shows.
                live = Live(dir=args.live_dir, dvcyaml=None, save_dvc_exp=False, report=None) if shipped else None
                with live or contextlib.nullcontext():
                    history = fit_model(model, data.x_train, data.y_train, data.x_val, data.y_val, train_params.epochs,
                                        train_params.batch_size, train_params.patience, seed=seed,
                                        callbacks=[live_callback(live)] if live else None)
                fit_seconds = time.perf_counter() - started
                with atomic_path(model_file(model_dir, fold.number, seed, shipped)) as tmp:
                    save_model(model, tmp)
                losses = history.history["val_loss"]
                best = min(range(len(losses)), key=losses.__getitem__)
                log.info("fold %d/%d, seed %d: %d epochs, best val_loss %.4f at epoch %d (%d train / %d val windows, "
                         "%.0f training windows/s)", fold.number, len(folds), seed, len(losses), losses[best], best + 1,
                         len(data.x_train), len(data.x_val), len(data.x_train) * len(losses) / fit_seconds)


if __name__ == "__main__":
    run_stage(main)
