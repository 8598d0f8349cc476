"""Many tickers as the unit of work: which tickers, which batch each belongs to, and failing tickers.

Every stage after the downloads works on one batch of tickers (or on all of them), and every
table between stages is in long format: one row per ticker and date, the ticker in a column.
A ticker's batch is a hash of its name, so adding or removing a ticker changes one batch's
files and leaves the others' byte for byte, and DVC reruns only that batch's stages.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from typing import TypeVar

import pandas as pd

from stockpipe import columns as col
from stockpipe.errors import PipelineError

log = logging.getLogger(__name__)
T = TypeVar("T")


def batch_of(ticker: str, n_batches: int) -> int:
    """The batch (0 .. n_batches - 1) a ticker belongs to: CRC-32 of its name, the same on every machine."""
    return zlib.crc32(ticker.encode("utf-8")) % n_batches


def batch_members(tickers: Iterable[str], batch: int, n_batches: int) -> list[str]:
    """The tickers of one batch, in the order given."""
    if not 0 <= batch < n_batches:
        raise PipelineError(f"batch {batch} is not one of data.batches (0 .. {n_batches - 1})")
    return [ticker for ticker in tickers if batch_of(ticker, n_batches) == batch]


def skips_failing(table: pd.DataFrame) -> bool:
    """Whether the stages after download_prices skip a failing ticker: the policy it resolved from
    data.on_error and data.tickers, carried in each batch file's attrs.

    Carried rather than read from params.yaml, so that the per-batch stages need not depend on
    data.tickers: adding a ticker to the list then reruns only its batch's stages.
    """
    return bool(table.attrs.get("skip_failing", False))


def run_each(tickers: Iterable[str], work: Callable[[str], T], skip: bool, stage: str,
             skipped: dict[str, str]) -> dict[str, T]:
    """``work`` for each ticker; a ticker whose work raises PipelineError stops the stage or is skipped.

    Args:
        skip: Leave a failing ticker out, adding its one-line reason to ``skipped``; otherwise
            re-raise naming the ticker.
        stage: Name of the stage, which starts each reason.
        skipped: Tickers left out so far (by earlier stages too), updated in place.

    Returns:
        Each successful ticker's result, in the order given.
    """
    results = {}
    for ticker in tickers:
        try:
            results[ticker] = work(ticker)
        except PipelineError as error:
            if not skip:
                raise PipelineError(f"ticker {ticker}: {error}") from None
            skipped[ticker] = f"{stage}: {error}"
            log.warning("skipping %s: %s", ticker, error)
    return results


def long_table(frames: dict[str, pd.DataFrame], empty: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-ticker tables as one, the ticker in the first column (rows of each ticker together, in order).

    With no tables, ``empty`` (a table with no rows) gives the columns and their types.
    """
    parts = [frame.assign(**{col.TICKER: ticker}) for ticker, frame in frames.items()]
    if not parts:
        parts = [(pd.DataFrame() if empty is None else empty).assign(**{col.TICKER: pd.Series(dtype="object")})]
    table = pd.concat(parts, ignore_index=True)
    return table[[col.TICKER, *[name for name in table.columns if name != col.TICKER]]]


def by_ticker(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A long table split back into each ticker's rows (without the ticker column), in first-seen order."""
    if table.empty:
        return {}
    return {ticker: rows.drop(columns=col.TICKER).reset_index(drop=True)
            for ticker, rows in table.groupby(col.TICKER, sort=False)}

