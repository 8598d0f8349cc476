"""Real `dvc` runs of the whole pipeline in a temporary git repository, with tiny settings."""

import json

import pandas as pd
import pytest

from tests.pipeline.conftest import stages_run

pytestmark = pytest.mark.pipeline

ALL_STAGES = {"download_prices", "download_news", "sentiment", "clean", "features", "split", "train",
              "evaluate", "predict", "monitor", "summary"}
METRIC_KEYS = {"mse", "rmse", "mae", "mape", "naive_rmse", "naive_mae", "skill", "direction_accuracy", "n_test"}


def test_first_run_writes_every_output(project):
    metrics = json.loads((project.path / "metrics/metrics.json").read_text())
    assert METRIC_KEYS <= metrics.keys()
    assert metrics["beats_naive"] == (metrics["skill"] > 0)
    predictions = pd.read_csv(project.path / "metrics/predictions.csv")
    assert list(predictions.columns) == ["date", "actual", "predicted", "naive", "fold"]
    assert len(predictions) == metrics["n_test"]
    assert set(predictions["fold"]) == {1}
    assert metrics["folds"]["count"] == metrics["seeds"]["count"] == 1
    for key in ("drift_rmse", "moving_average_rmse", "mase", "interval_coverage"):
        assert key in metrics
    forecast = pd.read_csv(project.path / "metrics/forecast.csv", parse_dates=["date"])
    assert list(forecast.columns) == ["date", "predicted_close", "lower", "upper"]
    assert (forecast["lower"] < forecast["predicted_close"]).all()
    assert (forecast["predicted_close"] < forecast["upper"]).all()
    # The sample ends on Monday 2018-12-31; 2019-01-01 is a holiday, then Wed..Fri, then Monday.
    assert forecast["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2019-01-02", "2019-01-03", "2019-01-04", "2019-01-07", "2019-01-08"]
    assert (project.path / "metrics/predictions.png").stat().st_size > 10_000
    quality = json.loads((project.path / "metrics/data_quality.json").read_text())
    assert quality["source"] == "sample" and quality["rows_out"] > 1000
    for plot in ("train/loss.tsv", "eval/loss.tsv"):
        assert (project.path / "metrics/train/plots/metrics" / plot).read_text().startswith("step\tloss")


def test_second_repro_runs_nothing(project):
    result = project.dvc("repro")
    assert stages_run(result.stdout) == set()
    assert "up to date" in project.dvc("status").stdout


def test_exp_run_with_units_reruns_only_training_onward(project):
    try:
        result = project.dvc("exp", "run", "-S", "model.units=4")
        assert stages_run(result.stdout) == {"train", "evaluate", "predict", "monitor", "summary"}
    finally:
        project.reset()


def test_folds_and_seeds_backtest_the_same_test_days_with_a_model_per_fold_and_seed(project):
    single = pd.read_csv(project.path / "metrics/predictions.csv")
    try:
        result = project.dvc("exp", "run", "-S", "evaluate.folds=3", "-S", "train.seeds=2")
        assert stages_run(result.stdout) == {"train", "evaluate", "predict", "monitor", "summary"}
        metrics = json.loads((project.path / "metrics/metrics.json").read_text())
        predictions = pd.read_csv(project.path / "metrics/predictions.csv")
        # The same test days as the single split, each predicted once, by the fold whose block holds it.
        assert predictions["date"].tolist() == single["date"].tolist()
        assert predictions["fold"].is_monotonic_increasing and set(predictions["fold"]) == {1, 2, 3}
        assert metrics["n_test"] == len(predictions)
        assert metrics["folds"]["count"] == 3 and metrics["seeds"]["count"] == 2
        assert sorted(metrics["seeds"]["per_seed"]) == ["42", "43"]
        assert metrics["folds"]["skill"]["std"] > 0
        assert sum(fold["n_test"] for fold in metrics["folds"]["per_fold"].values()) == metrics["n_test"]
        assert sorted(path.name for path in (project.path / "models/backtest").iterdir()) == [
            "fold1_scaler.json", "fold1_seed42.keras", "fold1_seed43.keras",
            "fold2_scaler.json", "fold2_seed42.keras", "fold2_seed43.keras", "fold3_seed43.keras"]
        # Each fold's scalers were fitted on more history than the previous fold's.
        stops = [json.loads((project.path / f"models/backtest/fold{n}_scaler.json").read_text())["train_stop"]
                 for n in (1, 2)]
        stops.append(json.loads((project.path / "models/scaler.json").read_text())["train_stop"])
        assert stops == sorted(stops) and len(set(stops)) == 3
    finally:
        project.reset()


def test_features_param_reruns_features_onward_only(project):
    try:
        result = project.dvc("exp", "run", "-S", "features.rsi_window=10")
        assert stages_run(result.stdout) == {"features", "split", "train", "evaluate", "predict", "monitor",
                                              "summary"}
    finally:
        project.reset()


def test_metrics_diff_shows_rmse_and_skill_change(project):
    try:
        project.set_params({"model": {"units": 3}})
        project.dvc("repro")
        diff = json.loads(project.dvc("metrics", "diff", "--json").stdout)
        changed = diff["metrics/metrics.json"]
        for key in ("rmse", "skill"):
            assert changed[key]["old"] != changed[key]["new"]
        assert "rmse" in project.dvc("metrics", "diff", "--md").stdout
    finally:
        project.reset()


def test_bad_param_fails_with_one_line_and_keeps_outputs(project):
    before = (project.path / "metrics/metrics.json").read_text()
    try:
        project.set_params({"model": {"units": 0}})
        result = project.dvc("repro", check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == ["error: params.yaml: model.units: Input should be greater than or equal to 1 (got 0)"]
        assert "Traceback" not in result.stderr
        assert (project.path / "metrics/metrics.json").read_text() == before
    finally:
        project.reset()


def test_fail_below_naive_fails_evaluate_exactly_when_skill_is_negative(project):
    skill = json.loads((project.path / "metrics/metrics.json").read_text())["skill"]
    try:
        project.set_params({"evaluate": {"fail_below_naive": True}})
        result = project.dvc("repro", check=False)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        if skill < 0:
            assert result.returncode != 0
            assert errors == [f"error: test skill {skill:+.4f} < 0: the model loses to the naive forecast "
                              "(evaluate.fail_below_naive is true; metrics/metrics.json was written)"]
        else:
            assert result.returncode == 0 and not errors
    finally:
        project.reset()
