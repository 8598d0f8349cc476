"""The PR comment from literal dvc output, and the script run for real against a tiny git + DVC repo."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stockpipe.report import build_report, forecast_table, monitor_summary, pictures_section, universe_verdict, verdict

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pr_report.py"

# Exactly what `dvc params diff` / `dvc metrics diff --md` print (dvc 3.x), changed and unchanged.
PARAMS_DIFF = """\
| Path        | Param       | origin/main   | workspace   |
|-------------|-------------|---------------|-------------|
| params.yaml | model.units | 32            | 64          |
"""
METRICS_DIFF = """\
| Path                 | Metric   | origin/main   | workspace   | Change   |
|----------------------|----------|---------------|-------------|----------|
| metrics/metrics.json | rmse     | 20.03009      | 19.8        | -0.23009 |
| metrics/metrics.json | skill    | -0.00371      | 0.012       | 0.01571  |
"""
NO_PARAMS = """\
| Path   | Param   | origin/main   | workspace   |
|--------|---------|---------------|-------------|

"""
NO_METRICS = """\
| Path   | Metric   | origin/main   | workspace   | Change   |
|--------|----------|---------------|-------------|----------|

"""
WINNING = {"rmse": 19.8, "naive_rmse": 20.04, "skill": 0.012, "beats_naive": True}
LOSING = {"rmse": 20.03, "naive_rmse": 19.956, "skill": -0.0037, "beats_naive": False}
FORECAST = [{"date": "2019-01-02", "predicted_close": "2502.695386"},
            {"date": "2019-01-03", "predicted_close": "2501.3"}]


def test_verdict_positive_skill():
    assert verdict(WINNING) == (
        "The model beats the naive forecast: skill +0.012 (test RMSE 19.80 vs 20.04 for the naive forecast)")


def test_verdict_negative_skill():
    assert verdict(LOSING) == (
        "The model LOSES to the naive 'tomorrow = today' forecast: skill -0.004 "
        "(test RMSE 20.03 vs 19.96 for the naive forecast)")


def test_verdict_zero_skill_is_a_tie():
    assert verdict({"rmse": 5, "naive_rmse": 5, "skill": 0}).startswith("The model only ties with the naive")


# Metrics as evaluate now writes them carry the Diebold-Mariano p-value of model vs naive squared errors and the level.
@pytest.mark.parametrize(("metrics", "expected"), [
    ({**WINNING, "dm_p_value": 0.0031, "significance": 0.05},
     "The model beats the naive forecast, significantly (DM p = 0.0031): skill +0.012 "
     "(test RMSE 19.80 vs 20.04 for the naive forecast)"),
    ({**WINNING, "dm_p_value": 0.62, "significance": 0.05},
     "The model beats the naive forecast, not significantly (DM p = 0.62): skill +0.012 "
     "(test RMSE 19.80 vs 20.04 for the naive forecast)"),
    ({**LOSING, "dm_p_value": 0.41, "significance": 0.05},
     "The model LOSES to the naive 'tomorrow = today' forecast, not significantly (DM p = 0.41): skill -0.004 "
     "(test RMSE 20.03 vs 19.96 for the naive forecast)"),
    ({**LOSING, "dm_p_value": 0.0007, "significance": 0.05},
     "The model LOSES to the naive 'tomorrow = today' forecast, significantly (DM p = 0.0007): skill -0.004 "
     "(test RMSE 20.03 vs 19.96 for the naive forecast)"),
    # p equal to the level is not below it; the level is the metrics' own (0.03 is not significant at 0.01).
    ({**LOSING, "dm_p_value": 0.05, "significance": 0.05},
     "The model LOSES to the naive 'tomorrow = today' forecast, not significantly (DM p = 0.05): skill -0.004 "
     "(test RMSE 20.03 vs 19.96 for the naive forecast)"),
    ({**WINNING, "dm_p_value": 0.03, "significance": 0.01},
     "The model beats the naive forecast, not significantly (DM p = 0.03): skill +0.012 "
     "(test RMSE 19.80 vs 20.04 for the naive forecast)"),
], ids=["win-significant", "win-not", "lose-not", "lose-significant", "at-the-level", "own-level"])
def test_verdict_says_whether_the_difference_is_significant(metrics, expected):
    assert verdict(metrics) == expected


def test_verdict_with_no_p_value_says_the_test_had_nothing_to_compare():
    assert verdict({**LOSING, "dm_p_value": None, "significance": 0.05}) == (
        "The model LOSES to the naive 'tomorrow = today' forecast, not significantly (DM test: the errors never "
        "differ): skill -0.004 (test RMSE 20.03 vs 19.96 for the naive forecast)")


@pytest.mark.parametrize("p_value", [None, 0.97])
def test_verdict_of_a_tie_has_no_significance_words(p_value):
    assert verdict({"rmse": 5, "naive_rmse": 5, "skill": 0, "dm_p_value": p_value, "significance": 0.05}) == (
        "The model only ties with the naive 'tomorrow = today' forecast: skill +0.000 "
        "(test RMSE 5.00 vs 5.00 for the naive forecast)")


@pytest.mark.parametrize("metrics", [WINNING, LOSING, {**LOSING, "significance": 0.05}])
def test_verdict_without_the_test_is_the_old_line(metrics):
    # Metrics written before the Diebold-Mariano test (no dm_p_value, whatever else they carry): no DM words.
    assert "DM" not in verdict(metrics) and "significantly" not in verdict(metrics)
    assert verdict(metrics) in (
        "The model beats the naive forecast: skill +0.012 (test RMSE 19.80 vs 20.04 for the naive forecast)",
        "The model LOSES to the naive 'tomorrow = today' forecast: skill -0.004 "
        "(test RMSE 20.03 vs 19.96 for the naive forecast)")


@pytest.mark.parametrize("skill", [None, "0.1", True, float("nan")])
def test_verdict_rejects_a_bad_skill(skill):
    with pytest.raises(ValueError, match="'skill' must be a finite number"):
        verdict({**WINNING, "skill": skill})


def test_verdict_names_a_missing_key():
    with pytest.raises(ValueError, match="'naive_rmse'"):
        verdict({"rmse": 1.0, "skill": 0.1})


# metrics/summary.json of three tickers before (OLD) and after (NEW) the significance counts came in.
OLD_SUMMARY = {"count": 3, "beat_naive": 1, "median_skill": -0.0123, "pooled_skill": 0.0045,
               "tickers": {"AAPL": {}, "MSFT": {}, "^GSPC": {}}}
NEW_SUMMARY = {**OLD_SUMMARY, "significance": 0.05, "significantly_better": 1, "significantly_worse": 2}
# A one-ticker summary's row, as stockpipe.summary writes it.
GSPC_ROW = {"first": "2015-01-16", "last": "2018-12-31", "n_test": 996, "rmse": 19.95907514785491,
            "naive_rmse": 19.956116986265386, "skill": -0.00014823332572966308, "beats_naive": False,
            "dm_p_value": 0.98, "significant": False, "mase": 1.2748016889486462,
            "interval_coverage": 0.8955823293172691, "interval_width_vs_garch_t": 0.9615647499198648,
            "verdict": "loses to naive, not significantly (DM p = 0.98)"}


def test_universe_verdict_without_the_significance_counts_is_the_old_line():
    assert universe_verdict(OLD_SUMMARY) == (
        "1 of 3 tickers beat the naive 'tomorrow = today' forecast: median skill -0.0123, pooled skill +0.0045")


def test_universe_verdict_with_the_significance_counts():
    assert universe_verdict(NEW_SUMMARY) == (
        "1 of 3 tickers beat the naive 'tomorrow = today' forecast (1 significantly, DM p < 0.05; 2 lose "
        "significantly): median skill -0.0123, pooled skill +0.0045")


def test_universe_verdict_names_its_level_and_a_missing_pooled_skill():
    summary = {**NEW_SUMMARY, "significance": 0.01, "significantly_better": 0, "significantly_worse": 0,
               "pooled_skill": None}

    assert universe_verdict(summary) == (
        "1 of 3 tickers beat the naive 'tomorrow = today' forecast (0 significantly, DM p < 0.01; 0 lose "
        "significantly): median skill -0.0123, pooled skill n/a")


def test_universe_verdict_of_no_ticker_says_so():
    assert universe_verdict({**NEW_SUMMARY, "count": 0, "beat_naive": 0, "significantly_better": 0,
                             "significantly_worse": 0, "tickers": {}}) == "No ticker was evaluated."


def test_universe_verdict_of_one_ticker_is_its_verdict_with_the_p_value():
    summary = {**NEW_SUMMARY, "count": 1, "beat_naive": 0, "significantly_better": 0, "significantly_worse": 0,
               "tickers": {"^GSPC": GSPC_ROW}}

    assert universe_verdict(summary) == (
        "^GSPC: The model LOSES to the naive 'tomorrow = today' forecast, not significantly (DM p = 0.98): "
        "skill -0.000 (test RMSE 19.96 vs 19.96 for the naive forecast)")


def test_forecast_table_rounds_closes_to_cents():
    assert forecast_table(FORECAST) == (
        "| Date | Predicted close |\n|------|----------------:|\n| 2019-01-02 | 2502.70 |\n| 2019-01-03 | 2501.30 |")


def test_forecast_table_without_rows():
    assert forecast_table([]) == "No forecast rows."


def test_forecast_table_names_the_missing_column():
    with pytest.raises(ValueError, match="row 2 has no 'predicted_close'"):
        forecast_table([FORECAST[0], {"date": "2019-01-03"}])


def test_forecast_table_rejects_a_close_that_is_not_a_number():
    with pytest.raises(ValueError, match="row 1: predicted_close 'n/a' is not a number"):
        forecast_table([{"date": "2019-01-02", "predicted_close": "n/a"}])


def test_report_with_changes_has_every_section_in_order():
    report = build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, WINNING, FORECAST)
    parts = ["## Stock LSTM: pipeline report against `origin/main`",
             "**The model beats the naive forecast: skill +0.012", "### Params changed", PARAMS_DIFF.strip(),
             "### Metrics changed", METRICS_DIFF.strip(),
             "### Forecast (2 sessions)", "| 2019-01-03 | 2501.30 |"]
    positions = [report.index(part) for part in parts]
    assert positions == sorted(positions)
    assert "No params changed" not in report and "No metric changed" not in report


@pytest.mark.parametrize("params_diff, metrics_diff", [(NO_PARAMS, NO_METRICS), ("", "")])
def test_report_without_changes_says_so(params_diff, metrics_diff):
    report = build_report("origin/main", params_diff, metrics_diff, LOSING, FORECAST)
    assert "No params changed." in report and "No metric changed." in report
    assert "| Path" not in report
    assert "**The model LOSES to the naive 'tomorrow = today' forecast: skill -0.004" in report


def test_report_verdict_carries_the_significance():
    report = build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, {**LOSING, "dm_p_value": 0.41,
                                                                      "significance": 0.05}, FORECAST)

    assert ("**The model LOSES to the naive 'tomorrow = today' forecast, not significantly (DM p = 0.41): "
            "skill -0.004") in report


# metrics/monitor.json as the monitor stage writes it: nothing scored yet, and 12 forecasts scored.
NOTHING_SCORED = {"forecasts": 1, "forecasts_scored": 0, "n_scored": 0, "last_forecast_made_on": "2018-12-31",
                  "last_scored_date": None, "window": 20,
                  "first_step": {"n": 0, "rmse": None, "mae": None, "naive_rmse": None, "naive_mae": None,
                                 "skill": None},
                  "test_rmse": 20.03, "test_naive_rmse": 19.956, "ratio": None, "drift_ratio": 1.5, "drift": None}
SCORED = {**NOTHING_SCORED, "forecasts": 14, "forecasts_scored": 12, "n_scored": 50,
          "last_forecast_made_on": "2025-03-21", "last_scored_date": "2025-03-20",
          "first_step": {"n": 12, "rmse": 61.234, "mae": 48.0, "naive_rmse": 60.0, "naive_mae": 47.5, "skill": -0.02},
          "ratio": 1.0169, "drift": False}


def test_monitor_summary_with_nothing_scored_says_so():
    assert monitor_summary(NOTHING_SCORED) == (
        "No live forecast has been scored yet (1 recorded, the latest made on 2018-12-31): "
        "a forecast is scored once the prices reach its dates.")


def test_monitor_summary_puts_live_naive_and_test_errors_side_by_side():
    assert monitor_summary(SCORED) == (
        "First steps of the last 12 scored forecasts (of 14 recorded, scored up to 2025-03-20):\n\n"
        "| | RMSE | MAE |\n|---|---:|---:|\n"
        "| live forecasts | 61.23 | 48.00 |\n"
        "| naive, same days | 60.00 | 47.50 |\n"
        "| test set (naive 19.96) | 20.03 | |\n\n"
        "No drift: live RMSE / naive RMSE is 1.02 times the test set's (drift above 1.5).")


def test_monitor_summary_flags_drift():
    summary = monitor_summary({**SCORED, "ratio": 1.84, "drift": True})

    assert summary.endswith("**DRIFT: live RMSE / naive RMSE is 1.84 times the test set's (drift above 1.5).**")


def test_monitor_summary_before_drift_is_judged():
    summary = monitor_summary({**SCORED, "first_step": {**SCORED["first_step"], "n": 2}, "drift": None})

    assert summary.endswith("Drift is not judged yet: too few scored forecasts (drift above 1.5).")


@pytest.mark.parametrize(("change", "message"), [({"test_rmse": None}, "'test_rmse' must be a finite number"),
                                                  ({"first_step": None}, "'first_step' must be a mapping"),
                                                  ({"ratio": "1.2"}, "'ratio' must be a finite number")])
def test_monitor_summary_rejects_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        monitor_summary({**SCORED, **change})


def test_report_puts_the_live_forecasts_before_the_forecast():
    report = build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, LOSING, FORECAST, SCORED)

    parts = ["### Metrics changed", "### Live forecasts", "| live forecasts | 61.23 | 48.00 |",
             "### Forecast (2 sessions)"]
    positions = [report.index(part) for part in parts]
    assert positions == sorted(positions)
    assert "### Live forecasts" not in build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, LOSING, FORECAST)


# The script, for real: a one-stage pipeline whose summary of one ticker follows train.lr (rmse = 10 * lr
# against a naive rmse of 5, so lr 0.4 gives skill +0.2 and lr 0.6 gives skill -0.2).
STAGE_CODE = (
    "import json, yaml; "
    "lr = yaml.safe_load(open('params.yaml'))['train']['lr']; "
    "rmse = round(10 * lr, 6); skill = round(1 - rmse / 5.0, 6); "
    "json.dump({'count': 1, 'beat_naive': int(skill > 0), 'median_skill': skill, 'pooled_skill': skill, "
    "'tickers': {'^GSPC': {'rmse': rmse, 'naive_rmse': 5.0, 'skill': skill}}}, "
    "open('metrics/summary.json', 'w'))"
)


def run(args: list, cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> tuple[Path, dict, str]:
    """A git + DVC repo: lr 0.4 reproduced and committed, then lr 0.6 reproduced and left uncommitted."""
    repo = tmp_path_factory.mktemp("tiny_repo")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # No analytics, no user or system git config, and DVC's site cache inside the test folder.
    env.update({"DVC_NO_ANALYTICS": "1", "DVC_SITE_CACHE_DIR": str(repo.parent / "dvc-site-cache"),
                "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})
    dvc = Path(sys.executable).parent / "dvc"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    (repo / "metrics" / "forecast").mkdir(parents=True)
    (repo / "metrics" / "forecast" / "batch_0.csv").write_text(
        "ticker,date,predicted_close\n^GSPC,2019-01-02,101.234567\n")
    (repo / "params.yaml").write_text("train:\n  lr: 0.4\n")
    stage = {"cmd": f"{shlex.quote(sys.executable)} -c {shlex.quote(STAGE_CODE)}", "params": ["train.lr"],
             "metrics": [{"metrics/summary.json": {"cache": False}}]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"evaluate": stage}}))
    run([*git, "init", "-q", "-b", "main"], repo, env)
    run([dvc, "init", "-q"], repo, env)
    run([dvc, "repro", "-q"], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-q", "-m", "lr 0.4"], repo, env)
    first = run(["git", "rev-parse", "HEAD"], repo, env).stdout.strip()
    (repo / "params.yaml").write_text("train:\n  lr: 0.6\n")
    run([dvc, "repro", "-q"], repo, env)
    return repo, env, first


@pytest.mark.pipeline
def test_script_reports_the_changed_param_and_metrics(tiny_repo):
    repo, env, first = tiny_repo
    report = run([sys.executable, SCRIPT, "--base", first], repo, env).stdout
    assert json.loads((repo / "metrics" / "summary.json").read_text())["tickers"]["^GSPC"]["skill"] == -0.2
    # One ticker: its own verdict.
    assert "**^GSPC: The model LOSES to the naive 'tomorrow = today' forecast: skill -0.200" in report
    params_rows = [line.split("|")[1:-1] for line in report.splitlines() if "train.lr" in line]
    assert [[cell.strip() for cell in row] for row in params_rows] == [["params.yaml", "train.lr", "0.4", "0.6"]]
    metric_rows = {cells[2].strip(): [cell.strip() for cell in cells[3:6]]
                   for cells in (line.split("|") for line in report.splitlines())
                   if len(cells) > 3 and cells[1].strip() == "metrics/summary.json"}
    assert metric_rows == {"beat_naive": ["1", "0", "-1"], "median_skill": ["0.2", "-0.2", "-0.4"],
                           "pooled_skill": ["0.2", "-0.2", "-0.4"], "tickers.^GSPC.rmse": ["4.0", "6.0", "2.0"],
                           "tickers.^GSPC.skill": ["0.2", "-0.2", "-0.4"]}
    assert "| ^GSPC | 2019-01-02 | 101.23 |" in report


@pytest.mark.pipeline
def test_script_fails_with_one_line_on_an_unknown_base(tiny_repo):
    repo, env, _ = tiny_repo
    result = run([sys.executable, SCRIPT, "--base", "no-such-branch"], repo, env, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: `dvc params diff no-such-branch --md` exited 255: ERROR: unknown Git revision 'no-such-branch'"]


@pytest.mark.pipeline
def test_script_adds_the_live_forecasts_from_the_monitor_file(tiny_repo, tmp_path):
    repo, env, first = tiny_repo
    monitor = tmp_path / "monitor.json"
    monitor.write_text(json.dumps(SCORED))

    report = run([sys.executable, SCRIPT, "--base", first, "--monitor", monitor], repo, env).stdout

    assert "### Live forecasts\n\nFirst steps of the last 12 scored forecasts" in report
    assert report.index("### Live forecasts") < report.index("### Forecast (1 sessions)")


@pytest.mark.pipeline
def test_script_fails_with_one_line_on_a_missing_monitor_file(tiny_repo):
    repo, env, first = tiny_repo
    result = run([sys.executable, SCRIPT, "--base", first, "--monitor", "metrics/nope.json"], repo, env, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: metrics/nope.json: file not found (run `dvc repro` first)"]


def test_report_shows_every_tickers_row_when_given_the_summary_table():
    table = "1 of 2 tickers beat the naive forecast.\n\n| ticker | ... |\n|---|---|\n| ^GSPC | ... |\n"

    report = build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, LOSING, FORECAST, SCORED, table)

    assert report.index("### Metrics changed") < report.index("### Every ticker") < report.index("### Live forecasts")
    assert "| ^GSPC | ... |" in report
    assert "### Every ticker" not in build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, LOSING, FORECAST)


def test_pictures_are_embedded_from_the_pull_requests_commit_and_say_whether_this_run_drew_the_same():
    url = "https://github.com/o/r/raw/abc123"
    same = pictures_section(url, "metrics/plots", differ=False, artifact_url="https://github.com/o/r/actions/runs/7")
    assert same.startswith("The pictures committed with the pull request, the same as this run drew ([this run's "
                           "pictures](https://github.com/o/r/actions/runs/7)).")
    assert "![What happens next](https://github.com/o/r/raw/abc123/metrics/plots/fan.png)" in same
    assert same.count("![") == 4
    differ = pictures_section(url + "/", "metrics/plots/", differ=True)
    assert "this run drew different ones: commit what `dvc repro` writes" in differ
    assert "(https://github.com/o/r/raw/abc123/metrics/plots/universe.png)" in differ
    assert "whether this run drew the same was not checked" in pictures_section(url, "metrics/plots", differ=None)
    report = build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, WINNING, FORECAST, pictures=same)
    assert report.endswith(f"### Pictures\n\n{same}\n")
    assert "### Pictures" not in build_report("origin/main", PARAMS_DIFF, METRICS_DIFF, WINNING, FORECAST)
