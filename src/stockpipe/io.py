"""File edges shared by the stage entry points: atomic writes and the stage runner."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from stockpipe.errors import PipelineError

log = logging.getLogger(__name__)


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path`` and move it into place only on success.

    A stage that fails halfway therefore leaves the previous file (or nothing), never a
    truncated file that a later stage would trust. The temporary name keeps the
    suffix, for writers such as Keras that insist on one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f")


def write_json(data: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def read_parquet(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found (run the stage that writes it first)") from None


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` and turn a PipelineError into one line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
