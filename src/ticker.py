"""Stages ticker_data and ticker_model: one extra ticker's data or model, by the main pipeline's own scripts.

Each stage runs the scripts of its part of the chain (stockpipe.tickers.CHAINS) on a copy
of params.yaml made for the ticker, and writes a complete folder or nothing.
"""

import argparse
import logging
import os
import subprocess
import sys
from pathlib import Path

import yaml

from stockpipe.errors import PipelineError
from stockpipe.io import atomic_dir, run_stage
from stockpipe.params import PARAMS_VARIABLE, load_params, params_path
from stockpipe.tickers import CHAINS, ticker_params

log = logging.getLogger("ticker")
SRC = Path(__file__).resolve().parent


def run_script(name: str, arguments: list[str], params_file: Path, ticker: str) -> None:
    """Run one stage script for ``ticker``; its failure becomes this stage's one-line error."""
    result = subprocess.run([sys.executable, str(SRC / f"{name}.py"), *arguments], capture_output=True, text=True,
                            env={**os.environ, PARAMS_VARIABLE: str(params_file)}, check=False)
    errors = [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]
    for line in result.stderr.splitlines():
        if line.startswith(f"{name}: "):
            log.info("%s %s", ticker, line)
    if result.returncode != 0:
        cause = errors[-1] if errors else f"exited {result.returncode}: {result.stderr.strip()[-500:]}"
        raise PipelineError(f"ticker {ticker}: stage {name}: {cause}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=sorted(CHAINS), help="data (download .. features) or model (split .. predict)")
    parser.add_argument("ticker")
    parser.add_argument("out", help="folder to write")
    parser.add_argument("--data", help="the ticker's data folder (part model)")
    args = parser.parse_args()
    params = load_params()
    if args.ticker not in params.data.tickers:
        raise PipelineError(f"params.yaml: data.tickers does not list {args.ticker!r}")
    if args.part == "model" and not args.data:
        raise PipelineError("ticker model needs --data, the ticker's data folder")
    raw = yaml.safe_load(params_path().read_text(encoding="utf-8-sig"))
    with atomic_dir(args.out) as tmp:
        params_file = tmp / "params.yaml"
        params_file.write_text(yaml.safe_dump(ticker_params(raw, args.ticker), sort_keys=False), encoding="utf-8")
        for name, arguments in CHAINS[args.part]:
            run_script(name, [argument.format(out=tmp, data=args.data) for argument in arguments], params_file,
                       args.ticker)


if __name__ == "__main__":
    run_stage(main)
