"""The pictures from tiny literal data: each table's rows and columns by hand, and each PNG written and readable."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from stockpipe import columns as col
from stockpipe import plots
from stockpipe.adapters.io import write_csv, write_png
from stockpipe.errors import PipelineError

ROOT = Path(__file__).resolve().parents[2]
DATES = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
# Six test days of two folds: day 3 closes above its band, day 5 below it.
PREDICTIONS = pd.DataFrame({
    col.DATE: DATES,
    col.ACTUAL: [100.0, 102.0, 110.0, 104.0, 96.0, 99.0],
    col.PREDICTED: [101.0, 100.0, 103.0, 108.0, 103.0, 97.0],
    col.NAIVE: [99.0, 100.0, 102.0, 110.0, 104.0, 96.0],
    col.FOLD: [1, 1, 1, 2, 2, 2],
    col.LOWER: [97.0, 98.0, 100.0, 101.0, 98.0, 95.0],
    col.UPPER: [103.0, 104.0, 106.0, 112.0, 108.0, 101.0],
})
FORECAST = pd.DataFrame({col.DATE: ["2024-01-10", "2024-01-11"], col.PREDICTED_CLOSE: [100.0, 101.0],
                         col.LOWER: [95.0, 93.0], col.UPPER: [105.0, 109.0], col.LOWER_50: [98.0, 97.5],
                         col.UPPER_50: [102.0, 104.5]})


def png_shape(path: Path, min_bytes: int = 10_000) -> tuple:
    """The written PNG's pixel array shape (matplotlib's reader fails on a file that is not a whole PNG)."""
    assert path.stat().st_size > min_bytes, path
    return imread(path).shape


def test_fan_table_opens_the_bands_at_the_last_close():
    table = plots.fan_table(pd.to_datetime(DATES), PREDICTIONS[col.ACTUAL], FORECAST, sessions=4)
    assert list(table.columns) == plots.FAN_COLUMNS
    assert table[col.DATE].tolist() == [*DATES[2:], "2024-01-10", "2024-01-11"]
    assert table[col.CLOSE].tolist()[:4] == [110.0, 104.0, 96.0, 99.0] and table[col.CLOSE][4:].isna().all()
    # The last close starts the forecast line and both bands; earlier closes have none.
    assert table.loc[3, [plots.FORECAST, col.LOWER_50, col.UPPER_50, col.LOWER, col.UPPER]].tolist() == [99.0] * 5
    assert table.loc[:2, plots.FORECAST].isna().all()
    assert table.loc[5, [plots.FORECAST, col.LOWER_50, col.UPPER_50, col.LOWER, col.UPPER]].tolist() == [
        101.0, 97.5, 104.5, 93.0, 109.0]


def test_calibration_table_marks_misses_and_rolls_coverage():
    table = plots.calibration_table(PREDICTIONS, coverage=0.9, window=4)
    assert list(table.columns) == plots.CALIBRATION_COLUMNS and len(table) == 6
    assert table[plots.MISS].tolist() == [0, 0, 1, 0, 1, 0]
    # Days 1-4 hold 3 of 4, days 2-5 hold 2 of 4, days 3-6 hold 2 of 4; nothing before the window fills.
    assert table[plots.ROLLING_COVERAGE].isna().tolist() == [True, True, True, False, False, False]
    assert table[plots.ROLLING_COVERAGE].tolist()[3:] == [0.75, 0.5, 0.5]
    assert (table[plots.TARGET] == 0.9).all()


def test_calibration_window_is_250_days_or_a_quarter_of_a_shorter_test_period():
    assert [plots.rolling_window(days) for days in (996, 500, 499, 242, 6, 3)] == [250, 250, 124, 60, 1, 1]
    table = plots.calibration_table(PREDICTIONS, coverage=0.9)
    assert table[plots.ROLLING_COVERAGE].tolist() == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_gain_loss_sums_model_minus_naive_squared_errors_and_marks_folds():
    table = plots.gain_loss_table(PREDICTIONS)
    assert list(table.columns) == plots.GAIN_LOSS_COLUMNS
    by_hand = [1 - 1, 4 - 4, 49 - 64, 16 - 36, 49 - 64, 4 - 9]
    assert table[plots.SQUARED_ERROR_GAIN].tolist() == by_hand
    assert table[plots.CUMULATIVE].tolist() == list(np.cumsum(by_hand))
    assert table[plots.FOLD_START].tolist() == [0, 0, 0, 1, 0, 0]


def test_coverage_table_ranks_lowest_first_beside_the_band():
    rows = {"B": {"interval_coverage": 0.93}, "A": {"interval_coverage": 0.85}, "C": {"interval_coverage": 0.9}}
    table = plots.coverage_table(rows, 0.9)
    assert list(table.columns) == plots.COVERAGE_COLUMNS
    assert table[col.TICKER].tolist() == ["A", "C", "B"] and table[plots.RANK].tolist() == [1, 2, 3]
    assert table[plots.BAND_LOW].tolist() == pytest.approx([0.88] * 3)
    assert table[plots.BAND_HIGH].tolist() == pytest.approx([0.92] * 3)


def test_skill_histogram_has_an_edge_at_zero():
    edges = plots.zero_edges(np.array([-0.05, -0.013, 0.002, 0.009]), 10)
    assert 0.0 in edges and edges[0] <= -0.05 and edges[-1] >= 0.009
    assert np.diff(edges) == pytest.approx(np.full(len(edges) - 1, 0.0059))
    assert plots.zero_edges(np.array([0.0]), 5).tolist() == [0.0, 0.001]  # one ticker with no skill: one bar


@pytest.mark.parametrize(("requested", "listed", "expected"), [
    (None, ["MSFT", "AAPL"], "MSFT"),
    (None, ["GONE", "AAPL"], "AAPL"),  # the first listed ticker was skipped
    (None, None, "AAPL"),  # data.tickers all: the first by name
    (None, ["GONE"], "AAPL"),  # every listed ticker failed its forecast: the first by name
    ("MSFT", ["AAPL", "MSFT"], "MSFT"),
])
def test_main_ticker(requested, listed, expected):
    assert plots.main_ticker(requested, listed, ["MSFT", "AAPL"]) == expected
    assert plots.main_ticker(None, listed, []) is None


def test_main_ticker_without_results_is_one_line_naming_the_param():
    with pytest.raises(PipelineError, match=r"^params\.yaml: plots\.ticker: TSLA has no results .* AAPL, MSFT$"):
        plots.main_ticker("TSLA", ["AAPL"], ["MSFT", "AAPL"])


def test_every_figure_writes_a_png_and_the_same_numbers_write_the_same_bytes(tmp_path):
    fan = plots.fan_table(pd.to_datetime(DATES), PREDICTIONS[col.ACTUAL], FORECAST)
    calibration = plots.calibration_table(PREDICTIONS, 0.9)
    gain_loss = plots.gain_loss_table(PREDICTIONS)
    coverages = plots.coverage_table({"A": {"interval_coverage": 0.85}, "B": {"interval_coverage": 0.91}}, 0.9)
    skills = pd.DataFrame({plots.RANK: [1, 2], col.TICKER: ["A", "B"], plots.SKILL: [-0.01, 0.02]})
    figures = {"fan": plots.fan_figure(fan, "XYZ", 0.9),
               "calibration": plots.calibration_figure(calibration, "XYZ", 0.9),
               "gain_loss": plots.gain_loss_figure(gain_loss, "XYZ", "beats naive, not significantly (DM p = 0.5)"),
               "universe": plots.universe_figure(skills, coverages, 0.9),
               "empty": plots.empty_figure("every ticker was skipped")}
    for name, figure in figures.items():
        write_png(figure, tmp_path / f"{name}.png")
        height, width, channels = png_shape(tmp_path / f"{name}.png", 1_000 if name == "empty" else 10_000)
        assert width > height >= (200 if name == "empty" else 400) and channels in (3, 4), name
    again = tmp_path / "again.png"
    write_png(plots.fan_figure(fan, "XYZ", 0.9), again)
    assert again.read_bytes() == (tmp_path / "fan.png").read_bytes()
    assert b"Matplotlib" not in again.read_bytes()  # no version stamp


def test_tables_round_trip_through_csv_as_dvc_plots_reads_them(tmp_path):
    """Missing values are empty cells (the templates filter them), and every template's fields are columns."""
    write_csv(plots.fan_table(pd.to_datetime(DATES), PREDICTIONS[col.ACTUAL], FORECAST), tmp_path / "fan.csv")
    lines = (tmp_path / "fan.csv").read_text().splitlines()
    assert lines[0] == ",".join(plots.FAN_COLUMNS) and len(lines) == 1 + 6 + 2
    assert lines[1] == "2024-01-02,100.000000,,,,,"
    for template, columns in (("fan", plots.FAN_COLUMNS), ("calibration", plots.CALIBRATION_COLUMNS),
                              ("gain_loss", plots.GAIN_LOSS_COLUMNS), ("coverage", plots.COVERAGE_COLUMNS),
                              ("skill", [plots.RANK, col.TICKER, plots.SKILL])):
        text = (ROOT / ".dvc" / "plots" / f"{template}.json").read_text()
        spec = json.loads(text)
        assert spec["data"] == {"values": "<DVC_METRIC_DATA>"}, template
        fields = {field for field in _fields(spec) if field != "rev"}
        assert fields <= set(columns), (template, fields - set(columns))


def _fields(node):
    """Every "field" a Vega-Lite spec encodes."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                yield value
            else:
                yield from _fields(value)
    elif isinstance(node, list):
        for item in node:
            yield from _fields(item)
