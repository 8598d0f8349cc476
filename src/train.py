"""Stage train: fit the LSTM on the training slice, stop early on the validation slice."""

import argparse
import logging
import time
from pathlib import Path

from dvclive import Live

from stockpipe import columns as col
from stockpipe.io import atomic_path, read_parquet, run_stage, write_json
from stockpipe.model import build_model, fit_model, live_callback, save_model, set_seed
from stockpipe.params import load_params
from stockpipe.windows import (
    Scaler,
    check_window_fits,
    input_columns,
    stack_parts,
    target_rows,
    target_values,
    windows_for,
)

log = logging.getLogger("train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("split_dir", help="folder with train.parquet and val.parquet")
    parser.add_argument("model_dir", help="folder for model.keras and scaler.json")
    parser.add_argument("--live-dir", required=True, help="dvclive folder for the per-epoch losses")
    args = parser.parse_args()
    params = load_params()
    model_params, train_params = params.model, params.train
    train = read_parquet(Path(args.split_dir) / "train.parquet")
    val = read_parquet(Path(args.split_dir) / "val.parquet")
    window, target = model_params.window, model_params.target
    table = stack_parts([train, val])
    check_window_fits(window, len(train))
    inputs = input_columns(params.features, target)
    rows_train = target_rows(0, len(train), window)
    rows_val = target_rows(len(train), len(table), window)

    # Statistics of the training slice only: validation and test rows never shape the scaling.
    scaler = Scaler.fit(table[inputs].to_numpy()[: len(train)])
    targets = target_values(table[col.CLOSE].to_numpy(), target)
    target_scaler = Scaler.fit(targets[rows_train])
    features = scaler.transform(table[inputs].to_numpy())
    y = target_scaler.transform(targets).ravel().astype("float32")

    set_seed(params.seed)
    model = build_model(window, len(inputs), model_params.layers, model_params.units, model_params.dropout,
                        train_params.learning_rate, cell=model_params.cell, bidirectional=model_params.bidirectional,
                        recurrent_dropout=model_params.recurrent_dropout, l2=model_params.l2,
                        dense_units=model_params.dense_units)
    started = time.perf_counter()
    with Live(dir=args.live_dir, dvcyaml=None, save_dvc_exp=False, report=None) as live:
        history = fit_model(
            model, windows_for(features, rows_train, window), y[rows_train],
            windows_for(features, rows_val, window), y[rows_val],
            train_params.epochs, train_params.batch_size, train_params.patience,
            callbacks=[live_callback(live)],
        )
    fit_seconds = time.perf_counter() - started

    model_dir = Path(args.model_dir)
    with atomic_path(model_dir / "model.keras") as tmp:
        save_model(model, tmp)
    write_json({"inputs": inputs, "target": target, "window": window,
                "features": scaler.to_dict(), "target_scaler": target_scaler.to_dict()},
               model_dir / "scaler.json")
    losses = history.history["val_loss"]
    best = min(range(len(losses)), key=losses.__getitem__)
    log.info("%d epochs, best val_loss %.4f at epoch %d (%d train / %d val windows, %.0f training windows/s)",
             len(losses), losses[best], best + 1, len(rows_train), len(rows_val),
             len(rows_train) * len(losses) / fit_seconds)


if __name__ == "__main__":
    run_stage(main)
