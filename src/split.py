"""Stage split: chronological train / validation / test parts."""

import argparse
import logging

from stockpipe import columns as col
from stockpipe.io import atomic_dir, read_parquet, run_stage, write_parquet
from stockpipe.params import load_params
from stockpipe.splitting import chronological_split

log = logging.getLogger("split")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("features", help="features parquet")
    parser.add_argument("out_dir", help="folder for train.parquet, val.parquet, test.parquet")
    args = parser.parse_args()
    params = load_params().split
    parts = chronological_split(read_parquet(args.features), params.test_size, params.val_size)
    # The three parts replace the folder together: a failure leaves the previous parts, never a mix.
    with atomic_dir(args.out_dir) as out_dir:
        for name, part in parts.items():
            write_parquet(part, out_dir / f"{name}.parquet")
    log.info(", ".join(f"{name} {len(part)} rows ({part[col.DATE].min().date()} .. {part[col.DATE].max().date()})"
                       for name, part in parts.items()))


if __name__ == "__main__":
    run_stage(main)
