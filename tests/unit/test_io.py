"""File edges: atomic writes that never leave a half-written file, and the stage runner."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stockpipe.adapters.io import (
    atomic_dir,
    atomic_path,
    batch_file,
    read_csv_table,
    read_parquet,
    run_stage,
    write_csv,
    write_json,
    write_parquet,
)
from stockpipe.errors import PipelineError

SRC = Path(__file__).resolve().parents[2] / "src"


def test_atomic_path_moves_the_file_into_place(tmp_path):
    target = tmp_path / "sub" / "out.keras"

    with atomic_path(target) as tmp:
        # Same folder, so the final move is a rename; the suffix is kept for writers that check it.
        assert tmp.parent == target.parent
        assert tmp.name.endswith(".keras")
        tmp.write_text("new", encoding="utf-8")
        assert not target.exists()

    assert target.read_text(encoding="utf-8") == "new"
    assert [path.name for path in target.parent.iterdir()] == ["out.keras"]


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old", encoding="utf-8")

    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            tmp.write_text("half", encoding="utf-8")
            raise RuntimeError("disk full")

    assert target.read_text(encoding="utf-8") == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"date": pd.to_datetime(["2020-06-01", "2020-06-02"]), "close": [10.0, 10.5]})

    write_parquet(frame, tmp_path / "a" / "prices.parquet")

    pd.testing.assert_frame_equal(read_parquet(tmp_path / "a" / "prices.parquet"), frame)


def test_reading_parquet_starts_no_native_thread(tmp_path):
    # Arrow threads alive when a stage exits can abort it with SIGABRT after its work is done
    # (apache/arrow#34314). Counted in a fresh process, where nothing else starts threads meanwhile.
    path = tmp_path / "prices.parquet"
    write_parquet(pd.DataFrame({"date": pd.date_range("2020-01-01", periods=5000), "close": 1.0}), path)
    script = ("import os, sys\n"
              "from stockpipe.adapters.io import read_parquet\n"
              "before = len(os.listdir('/proc/self/task'))\n"
              "assert len(read_parquet(sys.argv[1])) == 5000\n"
              "print(before, len(os.listdir('/proc/self/task')))\n")

    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120)

    before, after = result.stdout.split()
    assert after == before


def test_read_parquet_missing_file(tmp_path):
    with pytest.raises(PipelineError, match=r"nope\.parquet: file not found \(run the stage that writes it first\)$"):
        read_parquet(tmp_path / "nope.parquet")


@pytest.mark.parametrize(("content", "problem"), [
    (lambda whole: whole[:100], r"Parquet magic bytes not found in footer\. Either the file is corrupted or this is "
                                r"not a parquet file\."),
    (lambda whole: b"", "Parquet file size is 0 bytes"),
    (lambda whole: b"date,close\n2020-06-01,10.0\n", "Parquet magic bytes not found in footer"),
], ids=["truncated", "empty", "csv"])
def test_read_parquet_refuses_a_truncated_or_foreign_file_in_one_line(tmp_path, content, problem):
    whole = tmp_path / "whole.parquet"
    write_parquet(pd.DataFrame({"date": pd.to_datetime(["2020-06-01"]), "close": [10.0]}), whole)
    path = tmp_path / "prices.parquet"
    path.write_bytes(content(whole.read_bytes()))

    with pytest.raises(PipelineError) as error:
        read_parquet(path)

    assert re.fullmatch(rf"{re.escape(str(path))}: not a readable parquet file \({problem}.*\); rerun the stage "
                        "that writes it", str(error.value))
    assert "\n" not in str(error.value)


def test_batch_file_is_one_parquet_file_per_batch_in_the_stages_folder():
    assert batch_file("data/prepared", 0) == Path("data/prepared/batch_0.parquet")
    assert batch_file(Path("data/prepared"), 12) == Path("data/prepared/batch_12.parquet")


def test_write_csv_has_no_index_and_six_decimals(tmp_path):
    path = tmp_path / "forecast.csv"

    write_csv(pd.DataFrame({"date": ["2020-06-05"], "predicted_close": [101.123456789]}), path)

    assert path.read_text(encoding="utf-8") == "date,predicted_close\n2020-06-05,101.123457\n"


def test_write_json_is_indented_in_insertion_order(tmp_path):
    path = tmp_path / "metrics.json"

    write_json({"rmse": 1.5, "beats_naive": False, "n_test": 3}, path)

    text = path.read_text(encoding="utf-8")
    assert text == '{\n  "rmse": 1.5,\n  "beats_naive": false,\n  "n_test": 3\n}\n'
    assert json.loads(text) == {"rmse": 1.5, "beats_naive": False, "n_test": 3}


def test_run_stage_turns_a_pipeline_error_into_one_line_and_status_1(capsys):
    def main():
        raise PipelineError("prices.csv: row 3: column close has non-numeric value 'abc'")

    with pytest.raises(SystemExit) as exit_info:
        run_stage(main)

    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "error: prices.csv: row 3: column close has non-numeric value 'abc'\n"


def test_run_stage_lets_other_errors_show_their_traceback():
    def main():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_stage(main)


def test_run_stage_runs_main():
    calls = []

    run_stage(lambda: calls.append("ran"))

    assert calls == ["ran"]


def test_atomic_dir_replaces_the_folder_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("stage failed")

    assert (target / "a.txt").read_text() == "first"
    assert [path.name for path in tmp_path.iterdir()] == ["out"]  # no temporary folder left


def test_atomic_dir_removes_what_a_killed_write_of_the_same_output_left(tmp_path):
    # What a SIGKILL in the middle of a stage leaves: its temporary folder beside the output.
    (tmp_path / ".global.k1ll3d.tmp" / "live").mkdir(parents=True)
    (tmp_path / ".globally.other.tmp").mkdir()  # another output's: not this one's to remove
    with atomic_dir(tmp_path / "global") as tmp:
        (tmp / "model.keras").write_text("weights")

    assert sorted(path.name for path in tmp_path.iterdir()) == [".globally.other.tmp", "global"]


@pytest.mark.parametrize("atomic", [atomic_dir, atomic_path], ids=["dir", "path"])
def test_a_failed_atomic_write_removes_the_folders_it_made_for_it(tmp_path, atomic):
    # As a stage failing while it writes one ticker's folder, tickers/NOPE/data: tickers/ already
    # holds another ticker, so it stays; NOPE/ was made only for this output, so it goes.
    (tmp_path / "tickers" / "IXIC").mkdir(parents=True)
    with pytest.raises(RuntimeError), atomic(tmp_path / "tickers" / "NOPE" / "data"):
        raise RuntimeError("stage failed")

    assert [path.name for path in (tmp_path / "tickers").iterdir()] == ["IXIC"]


@pytest.mark.parametrize(("umask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                                (0o077, 0o600, 0o700)], ids=oct)
def test_atomic_writes_get_the_modes_of_a_plain_open_and_mkdir(tmp_path, umask, file_mode, folder_mode):
    previous = os.umask(umask)
    try:
        write_csv(pd.DataFrame({"date": ["2020-06-05"], "predicted_close": [101.0]}), tmp_path / "forecast.csv")
        with atomic_dir(tmp_path / "model") as folder:
            (folder / "weights.bin").write_bytes(b"")
        left = os.umask(umask)  # reading the umask means setting it: to the same value
    finally:
        os.umask(previous)

    assert left == umask
    assert stat.S_IMODE((tmp_path / "forecast.csv").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == folder_mode


def test_a_header_without_rows_is_refused_unless_the_caller_reads_it_as_no_rows(tmp_path):
    path = tmp_path / "forecast.csv"
    path.write_text("ticker,date,predicted_close\n", encoding="utf-8")

    with pytest.raises(PipelineError, match=r"forecast\.csv: no data rows, only the header \(ticker, date, "):
        read_csv_table(path)
    frame, _ = read_csv_table(path, header_only=True)

    assert list(frame.columns) == ["ticker", "date", "predicted_close"] and frame.empty


def test_importing_the_package_changes_no_environment_variable():
    """Every module of stockpipe imported in a fresh interpreter: os.environ is as the libraries left it.

    TensorFlow and h5py set variables of their own when imported; they are imported first.
    """
    import stockpipe

    folder = Path(stockpipe.__file__).parent
    modules = sorted(".".join(("stockpipe", *path.relative_to(folder).with_suffix("").parts))
                     for path in [*folder.glob("*.py"), *folder.glob("adapters/*.py")] if path.stem != "__init__")
    script = ("import os, importlib, sys, tensorflow, h5py; before = dict(os.environ); "
              f"[importlib.import_module(name) for name in {modules!r}]; "
              "sys.exit(sorted(set(os.environ.items()) ^ set(before.items())) or 0)")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**environ, "PYTHONPATH": str(folder.parent)})
    assert result.returncode == 0, result.stderr[-2000:]
