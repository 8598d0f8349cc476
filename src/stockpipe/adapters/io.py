"""File edges shared by the stage entry points: reading users' CSV files, atomic writes, the stage runner."""

from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow
import pyarrow.parquet

from stockpipe.errors import PipelineError

log = logging.getLogger(__name__)

# Larger CSV files are refused before a byte is read. Every cell becomes a Python string, about
# seven times the file's size in memory, so a 512 MiB file needs under 4 GB; a century of daily
# prices is 2 MB and the largest public headline sets are a few hundred MB.
MAX_CSV_BYTES = 512 * 1024**2
# Delimiters of real exports: comma, semicolon (spreadsheets in locales with a decimal comma),
# tab (spreadsheets' "text" export) and pipe; a tie goes to the first.
CSV_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


def _size(n_bytes: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def _open_text(path: Path | io.StringIO, encoding: str | None):
    if isinstance(path, io.StringIO):
        return io.StringIO(path.getvalue())
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _first_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        return stream.read(4)


def read_csv_table(
    path: str | Path | io.StringIO, source: str | None = None, na_values: Iterable[str] = ("",),
    malformed: str = "error", max_bytes: int = MAX_CSV_BYTES, header_only: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Read a CSV file that a person or a spreadsheet wrote, as text cells, or say in one line why not.

    - A file above ``max_bytes`` is refused before it is read.
    - Encoding: UTF-8, with or without a byte-order mark (which is dropped, so the first column
      keeps its name); UTF-16 when it starts with its byte-order mark; otherwise cp1252, what
      spreadsheets on Windows save. The encoding used is returned.
    - Delimiter: whichever of ``CSV_DELIMITERS`` splits the header line into the most fields.
    - Blank lines and lines of empty cells are skipped. Extra fields that are empty (a delimiter
      at the end of each line) are ignored. Any other row whose field count differs from the
      header's is malformed: a missing or extra cell would shift the values after it.

    Args:
        path: A file (``.gz`` is decompressed), or a text buffer holding a downloaded CSV.
        source: Name that starts error messages; the path when not given.
        na_values: Cell texts that mean "missing"; they become NaN.
        malformed: "error" stops at the first malformed row, naming it; "drop" skips such
            rows and counts them as ``rows_malformed``.
        header_only: Read a file of a header and no rows as a table with no rows, where
            that means "nothing" (a stage's output for a batch with no tickers); by default it
            is refused.

    Returns:
        The cells as strings (NaN where missing) indexed by line number, the header being
        line 1, and ``{"encoding": ..., "delimiter": ...}`` (and ``rows_malformed``).
    """
    source = source or str(path)
    if isinstance(path, io.StringIO):
        encodings = [None]
    else:
        path = Path(path)
        if path.is_dir():
            raise PipelineError(f"{source}: is a folder, not a CSV file")
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise PipelineError(f"{source}: file not found") from None
        if size > max_bytes:
            raise PipelineError(f"{source}: {_size(size)} is over the {_size(max_bytes)} limit for a CSV file; "
                                "keep only the rows you need (a date range, a ticker)")
        first = _first_bytes(path)
        encodings = [next((name for bom, name in _BOMS.items() if first.startswith(bom)), None)]
        if encodings == [None]:
            encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            with _open_text(path, encoding) as stream:
                frame, delimiter, dropped = _parse_csv(stream, source, malformed == "drop", header_only)
            break
        except UnicodeDecodeError as error:
            if encoding == encodings[-1]:
                raise PipelineError(f"{source}: not {' or '.join(encodings)} text (cannot decode byte "
                                    f"0x{error.object[error.start]:02x}); save it as UTF-8 CSV") from None
        except OSError as error:
            raise PipelineError(f"{source}: cannot read ({error.strerror or error})") from None
    read = {"encoding": encoding, "delimiter": delimiter}
    if malformed == "drop":
        read["rows_malformed"] = dropped
    return frame.mask(frame.isin(list(na_values))), read


def _parse_csv(stream, source: str, drop_malformed: bool, header_only: bool) -> tuple[pd.DataFrame, str, int]:
    lines = (line for line in stream if line.strip())
    head = next(lines, None)
    if head is None:
        raise PipelineError(f"{source}: empty file (expected a header line, then one line per row)")
    delimiter = max(CSV_DELIMITERS, key=lambda candidate: len(next(csv.reader([head], delimiter=candidate))))
    reader = csv.reader(_chain(head, stream), delimiter=delimiter)
    try:
        header = next(reader)
        width = len(header)
        rows, numbers, dropped = [], [], 0
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != width:
                if len(row) < width or any(cell.strip() for cell in row[width:]):
                    if drop_malformed:
                        dropped += 1
                        continue
                    raise PipelineError(
                        f"{source}: row {reader.line_num}: {len(row)} fields, but the header has {width} "
                        f"({CSV_DELIMITERS[delimiter]}-separated; expected one value per column)")
                row = row[:width]
            rows.append(row)
            numbers.append(reader.line_num)
    except csv.Error as error:
        raise PipelineError(f"{source}: row {reader.line_num}: cannot read as CSV ({error})") from None
    if not rows and not header_only:
        raise PipelineError(f"{source}: no data rows, only the header ({', '.join(header)})")
    # A name given twice gets a suffix, as pandas does ("Close", "Close.1"): the first is the one used.
    seen: dict[str, int] = {}
    columns = []
    for name in header:
        columns.append(f"{name}.{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    frame = pd.DataFrame(rows, columns=columns, index=pd.Index(numbers, name="line"), dtype=object)
    return frame, delimiter, dropped


def _chain(head: str, stream):
    yield head
    yield from stream


def _umask() -> int:
    """The process's umask, left as it was (reading it means setting it)."""
    # Owner-only for the instant it is set, so a file another thread creates then is not world-writable.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


@contextmanager
def _new_parents(path: Path):
    """Make the missing folders above ``path``; if the block fails, remove those of them left empty.

    So a failed write leaves no trace at all, not even an empty ``tickers/<ticker>/``.
    """
    missing = [parent for parent in path.parents if not parent.exists()]  # innermost first
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):  # not empty: something else wrote there meanwhile
                folder.rmdir()
        raise


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path`` and move it into place only on success.

    A stage that fails halfway therefore leaves the previous file (or nothing), never a
    truncated file that a later stage would trust. The temporary name keeps the
    suffix, for writers such as Keras that insist on one.
    """
    path = Path(path)
    with _new_parents(path):
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
        os.close(handle)
        try:
            yield Path(tmp)
            # mkstemp makes the file owner-only; the output gets the mode that open(path, "w") would give it.
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


@contextmanager
def atomic_dir(path: str | Path):
    """Yield an empty temporary folder beside ``path`` that replaces ``path`` only on success."""
    path = Path(path)
    with _new_parents(path):
        # A stage killed mid-write (SIGKILL, a lost machine) leaves its temporary folder behind;
        # the next write of the same output removes it. DVC runs one stage of a workspace at a time.
        for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
        try:
            yield tmp
            # mkdtemp makes the folder owner-only; the output gets the mode that os.mkdir would give it.
            os.chmod(tmp, 0o777 & ~_umask())
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def batch_file(folder: str | Path, batch: int, suffix: str = ".parquet") -> Path:
    """The file of one batch in a stage's folder of per-batch files (data.batches)."""
    return Path(folder) / f"batch_{batch}{suffix}"


def batch_files(folder: str | Path, batches: list[int], suffix: str = ".parquet") -> list[Path]:
    """The files of exactly ``batches`` in ``folder``, never a leftover of an earlier, larger data.batches.

    Raises:
        PipelineError: A batch's file is missing (its stage has not run).
    """
    files = [batch_file(folder, batch, suffix) for batch in batches]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise PipelineError(f"{missing[0]}: file not found (run `dvc repro`; {len(missing)} of data.batches' "
                            f"{len(files)} files are missing)")
    return files


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def read_json_object(path: str | Path) -> dict:
    """A JSON file holding one object, or a one-line PipelineError."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found (run `dvc repro` first)") from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6f")


def read_ticker_rows(path: str | Path, ticker: str, numbers: Iterable[str],
                     optional: Iterable[str] = ()) -> pd.DataFrame:
    """One ticker's rows of a stage's long CSV (a ticker column first), ``numbers`` and ``optional`` as floats.

    A column of ``optional`` the file lacks is all NaN; an empty cell is NaN.

    Raises:
        PipelineError: One line naming the file and a missing column, or the row and cell that is not a number.
    """
    frame, _ = read_csv_table(path, na_values=("",), header_only=True)
    return ticker_rows(frame, path, ticker, numbers, optional)


def ticker_rows(frame: pd.DataFrame, source: str | Path, ticker: str, numbers: Iterable[str],
                optional: Iterable[str] = ()) -> pd.DataFrame:
    """``read_ticker_rows`` on a file already read with ``read_csv_table`` (``source`` names it in errors)."""
    wanted = [col_name for col_name in ("ticker", *numbers) if col_name not in frame.columns]
    if wanted:
        raise PipelineError(f"{source}: no {wanted[0]} column (found {', '.join(map(str, frame.columns))}); rerun "
                            "the stage that writes it")
    rows = frame[frame["ticker"] == ticker].copy()
    for name in (*numbers, *optional):
        if name not in rows.columns:
            rows[name] = float("nan")
            continue
        text = rows[name].mask(rows[name] == "")
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.notna()
        if bad.any():
            row = bad.index[bad][0]
            raise PipelineError(f"{source}: row {row}: column {name} has {rows[name][row]!r} (expected a number)")
        rows[name] = values.astype("float64")
    return rows.reset_index(drop=True)


def write_png(figure, path: str | Path) -> None:
    """A matplotlib Figure as a PNG without the version stamp, so the same picture writes the same bytes."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


def write_json(data: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def parquet_frame(path: str | Path) -> pd.DataFrame:
    """A parquet file as a DataFrame, read without starting a single Arrow thread.

    A process that exits while Arrow's thread pools are alive sometimes dies of SIGABRT at exit
    ("terminate called without an active exception", apache/arrow#34314), after its work is done:
    a stage then fails for nothing. Reading a file path starts such threads even with
    ``use_threads=False``; parsing bytes read here, on the calling thread, starts none. The
    files are a few MB, read whole either way. Arrow's errors (OSError, ValueError) pass through.
    """
    table = pyarrow.parquet.ParquetFile(pyarrow.BufferReader(Path(path).read_bytes()))
    return table.read(use_threads=False, use_pandas_metadata=True).to_pandas(use_threads=False)


def read_parquet(path: str | Path) -> pd.DataFrame:
    """A parquet file as a DataFrame, or a one-line PipelineError (missing, truncated, not parquet)."""
    try:
        return parquet_frame(path)
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found (run the stage that writes it first)") from None
    except (pyarrow.ArrowException, OSError) as error:
        # Arrow names an in-memory buffer ("<Buffer>") where the path is meant; the path starts the line instead.
        detail = re.sub(r"^Could not open Parquet input source '[^']*': ", "", " ".join(str(error).split()))
        raise PipelineError(f"{path}: not a readable parquet file ({detail}); rerun the stage that writes it") from None


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` and turn a PipelineError into one line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    # urllib3 logs each retry with the raw exception; the stage says what failed in one line instead.
    urllib3_log = logging.getLogger("urllib3")
    level = urllib3_log.level
    urllib3_log.setLevel(logging.ERROR)
    try:
        main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        urllib3_log.setLevel(level)

