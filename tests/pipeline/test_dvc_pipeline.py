"""Real `dvc` runs of the whole pipeline in a temporary git repository, with tiny settings."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.pipeline.conftest import stages_run

pytestmark = pytest.mark.pipeline

# One batch (data.batches: [0]) of one ticker (data.tickers: [^GSPC]), as params.yaml ships.
ALL_STAGES = {"download_prices", "download_news", "sentiment", "prepare@0", "train@0", "train_global",
              "evaluate@0", "predict@0", "monitor", "summary"}
# A model or training param: both training stages read it (the one of the other scope writes a note).
FROM_TRAINING = {"train@0", "train_global", "evaluate@0", "predict@0", "monitor", "summary"}
METRIC_KEYS = {"mse", "rmse", "mae", "mape", "naive_rmse", "naive_mae", "skill", "direction_accuracy", "n_test",
               "dm_statistic", "dm_p_value", "significant", "interval_method", "intervals", "intervals_garch_t"}
TICKER = "^GSPC"
EVALUATE = "metrics/evaluate/batch_0.json"
MODELS = f"models/tickers/batch_0/{TICKER}"


def read_json(project, name: str) -> dict:
    return json.loads((project.path / name).read_text())


def ticker_metrics(project) -> dict:
    return read_json(project, EVALUATE)["tickers"][TICKER]


def test_first_run_writes_every_output(project):
    evaluated = read_json(project, EVALUATE)
    assert (evaluated["scope"], list(evaluated["tickers"]), evaluated["skipped"]) == ("ticker", [TICKER], {})
    metrics = evaluated["tickers"][TICKER]
    assert METRIC_KEYS <= metrics.keys()
    assert metrics["beats_naive"] == (metrics["skill"] > 0)
    predictions = pd.read_csv(project.path / "metrics/evaluate/batch_0.csv")
    assert list(predictions.columns) == ["ticker", "date", "actual", "predicted", "naive", "fold", "lower", "upper"]
    assert set(predictions["ticker"]) == {TICKER}
    assert len(predictions) == metrics["n_test"]
    assert set(predictions["fold"]) == {1}
    assert metrics["folds"]["count"] == metrics["seeds"]["count"] == 1
    for key in ("drift_rmse", "moving_average_rmse", "mase", "interval_coverage"):
        assert key in metrics
    forecast = pd.read_csv(project.path / "metrics/forecast/batch_0.csv", parse_dates=["date"])
    assert list(forecast.columns) == ["ticker", "date", "predicted_close", "lower", "upper", "lower_50", "upper_50"]
    assert set(forecast["ticker"]) == {TICKER}
    # The 50% band lies inside the predict.coverage (90%) one.
    assert (forecast["lower"] < forecast["lower_50"]).all() and (forecast["upper_50"] < forecast["upper"]).all()
    assert (forecast["lower_50"] < forecast["predicted_close"]).all()
    assert (forecast["predicted_close"] < forecast["upper_50"]).all()
    # Adaptive bands widen with the step as the volatility model's summed variance forecasts do.
    assert metrics["interval_method"] == "adaptive"
    assert (forecast["upper"] / forecast["predicted_close"]).is_monotonic_increasing
    # The sample ends on Monday 2018-12-31; 2019-01-01 is a holiday, then Wed..Fri, then Monday.
    assert forecast["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2019-01-02", "2019-01-03", "2019-01-04", "2019-01-07", "2019-01-08"]
    report = read_json(project, "metrics/prepare/batch_0.json")
    assert report["skipped"] == {} and list(report["tickers"]) == [TICKER]
    quality = report["tickers"][TICKER]["data_quality"]
    assert (quality["source"], quality["exchange"]) == ("sample", "XNYS")
    assert quality["rows_out"] > 1000 and quality["rows_out"] == report["tickers"][TICKER]["features"]["rows_in"]
    # The per-ticker training curves (dvclive's, for `dvc plots`, are the global model's: see the global test).
    history = read_json(project, f"{MODELS}/history.json")
    curves = history["fold1_seed42"]
    assert 1 <= len(curves["loss"]) == len(curves["val_loss"]) <= 3
    assert (project.path / MODELS / "model.keras").is_file()
    assert read_json(project, "models/tickers/batch_0/trained.json")["tickers"] == [TICKER]
    summary = read_json(project, "metrics/summary.json")
    assert (summary["count"], summary["skipped"], list(summary["tickers"])) == (1, {}, [TICKER])
    assert summary["tickers"][TICKER]["rmse"] == metrics["rmse"]
    assert f"| {TICKER} |" in (project.path / "metrics/summary.md").read_text()
    monitor = read_json(project, "metrics/monitor.json")
    assert (monitor["tickers_monitored"], list(monitor["tickers"])) == (1, [TICKER])
    assert monitor["tickers"][TICKER]["test_rmse"] == metrics["rmse"]


def test_pictures_hold_the_stages_numbers_and_dvc_plots_draws_them(project):
    metrics = ticker_metrics(project)
    plots = project.path / "metrics/plots"
    for name in ("fan", "calibration", "gain_loss", "universe"):
        assert (plots / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    predictions = pd.read_csv(project.path / "metrics/evaluate/batch_0.csv")
    calibration = pd.read_csv(plots / "calibration.csv")
    assert len(calibration) == metrics["n_test"]
    assert 1 - calibration["miss"].mean() == pytest.approx(metrics["interval_coverage"], abs=1.5 / len(calibration))
    gain_loss = pd.read_csv(plots / "gain_loss.csv")
    squared = ((predictions["predicted"] - predictions["actual"]) ** 2).sum()
    naive = ((predictions["naive"] - predictions["actual"]) ** 2).sum()
    assert gain_loss["cumulative"].iloc[-1] == pytest.approx(squared - naive, rel=1e-4)
    fan = pd.read_csv(plots / "fan.csv")
    forecast = pd.read_csv(project.path / "metrics/forecast/batch_0.csv")
    assert fan["close"].notna().sum() == 120
    assert fan["date"].tail(len(forecast)).tolist() == forecast["date"].tolist()
    assert pd.read_csv(plots / "coverage.csv")["ticker"].tolist() == [TICKER]
    shown = project.dvc("plots", "show", "--json")
    drawn = json.loads(shown.stdout)["data"]
    for name in ("metrics/plots/fan.csv", "metrics/plots/calibration.csv", "metrics/plots/gain_loss.csv",
                 "metrics/plots/coverage.csv", "metrics/skill.csv"):
        assert drawn[name][0]["type"] == "vega", name
    assert len(drawn["metrics/plots/fan.csv"][0]["content"]["data"]["values"]) == 120 + len(forecast)


def test_second_repro_runs_nothing(project):
    result = project.dvc("repro")
    assert stages_run(result.stdout) == set()
    assert "up to date" in project.dvc("status").stdout


def test_exp_run_with_units_reruns_only_training_onward(project):
    try:
        result = project.dvc("exp", "run", "-S", "model.units=4")
        assert stages_run(result.stdout) == FROM_TRAINING
    finally:
        project.reset()


def test_folds_and_seeds_backtest_the_same_test_days_with_a_model_per_fold_and_seed(project):
    single = pd.read_csv(project.path / "metrics/evaluate/batch_0.csv")
    try:
        result = project.dvc("exp", "run", "-S", "evaluate.folds=3", "-S", "train.seeds=2")
        assert stages_run(result.stdout) == FROM_TRAINING
        metrics = ticker_metrics(project)
        predictions = pd.read_csv(project.path / "metrics/evaluate/batch_0.csv")
        # The same test days as the single split, each predicted once, by the fold whose block holds it.
        assert predictions["date"].tolist() == single["date"].tolist()
        assert predictions["fold"].is_monotonic_increasing and set(predictions["fold"]) == {1, 2, 3}
        assert metrics["n_test"] == len(predictions)
        assert metrics["folds"]["count"] == 3 and metrics["seeds"]["count"] == 2
        assert sorted(metrics["seeds"]["per_seed"]) == ["42", "43"]
        # The headline is the two seeds' mean forecast, whose RMSE is at most the mean of theirs (Minkowski).
        assert metrics["rmse"] <= metrics["seeds"]["rmse"]["mean"] + 1e-9
        assert metrics["rmse"] not in {seed["rmse"] for seed in metrics["seeds"]["per_seed"].values()}
        assert metrics["folds"]["skill"]["std"] > 0
        assert sum(fold["n_test"] for fold in metrics["folds"]["per_fold"].values()) == metrics["n_test"]
        models = project.path / MODELS
        assert sorted(path.name for path in (models / "backtest").iterdir()) == [
            "fold1_scaler.json", "fold1_seed42.keras", "fold1_seed43.keras",
            "fold2_scaler.json", "fold2_seed42.keras", "fold2_seed43.keras", "fold3_seed43.keras"]
        assert sorted(read_json(project, f"{MODELS}/history.json")) == [
            f"fold{fold}_seed{seed}" for fold in (1, 2, 3) for seed in (42, 43)]
        # Each fold's scalers were fitted on more history than the previous fold's.
        stops = [json.loads((models / f"backtest/fold{n}_scaler.json").read_text())["train_stop"] for n in (1, 2)]
        stops.append(json.loads((models / "scaler.json").read_text())["train_stop"])
        assert stops == sorted(stops) and len(set(stops)) == 3
        summary = read_json(project, "metrics/summary.json")["tickers"][TICKER]
        assert (summary["folds"], summary["seeds"]) == (3, 2)
    finally:
        project.reset()


def test_interval_params_rerun_only_the_stages_after_training(project):
    adaptive = ticker_metrics(project)
    try:
        result = project.dvc("exp", "run", "-S", "predict.interval_method=split")
        assert stages_run(result.stdout) == {"evaluate@0", "predict@0", "summary", "monitor"}
        split = ticker_metrics(project)
        # The same models and point forecasts; only the bands differ.
        assert (split["interval_method"], split["rmse"], split["dm_p_value"]) == (
            "split", adaptive["rmse"], adaptive["dm_p_value"])
        assert split["interval_coverage"] != adaptive["interval_coverage"]
        # The split band is one validation half-width, widened by the square root of the step.
        forecast = pd.read_csv(project.path / "metrics/forecast/batch_0.csv")
        halfwidths = np.log(forecast["upper"] / forecast["predicted_close"])
        np.testing.assert_allclose(halfwidths / halfwidths[0], np.sqrt(np.arange(1, len(forecast) + 1)), rtol=1e-6)
    finally:
        project.reset()


def test_features_param_reruns_prepare_onward_only(project):
    try:
        result = project.dvc("exp", "run", "-S", "features.rsi_window=10")
        assert stages_run(result.stdout) == {"prepare@0"} | FROM_TRAINING
    finally:
        project.reset()


def test_global_scope_trains_the_pooled_model_with_its_curves(project):
    # The dvclive curves that `dvc plots` shows are the pooled model's (models/global/live).
    ticker_scope = ticker_metrics(project)
    try:
        result = project.dvc("exp", "run", "-S", "model.scope=global")
        assert stages_run(result.stdout) == FROM_TRAINING
        assert (project.path / "models/global/model.keras").is_file()
        assert read_json(project, "models/global/trained.json")["tickers"] == [TICKER]
        assert read_json(project, "models/tickers/batch_0/trained.json") == {"scope": "global", "tickers": []}
        for plot in ("train/loss.tsv", "eval/loss.tsv"):
            assert (project.path / "models/global/live/plots/metrics" / plot).read_text().startswith("step\tloss")
        evaluated = read_json(project, EVALUATE)
        assert evaluated["scope"] == "global" and list(evaluated["tickers"]) == [TICKER]
        # The same test days, predicted by the other model.
        assert evaluated["tickers"][TICKER]["n_test"] == ticker_scope["n_test"]
        assert read_json(project, "metrics/summary.json")["scope"] == "global"
    finally:
        project.reset()


def test_metrics_diff_shows_rmse_and_skill_change(project):
    try:
        project.set_params({"model": {"units": 3}})
        project.dvc("repro")
        diff = json.loads(project.dvc("metrics", "diff", "--json").stdout)
        changed = diff[EVALUATE]
        for key in ("rmse", "skill"):
            entry = changed[f"tickers.{TICKER}.{key}"]
            assert entry["old"] != entry["new"]
        assert "median_skill" in diff["metrics/summary.json"]
        assert f"tickers.{TICKER}.rmse" in project.dvc("metrics", "diff", "--md").stdout
    finally:
        project.reset()


def test_bad_param_fails_with_one_line_and_keeps_outputs(project):
    before = (project.path / EVALUATE).read_text()
    try:
        project.set_params({"model": {"units": 0}})
        result = project.dvc("repro", check=False)
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == ["error: params.yaml: model.units: Input should be greater than or equal to 1 (got 0)"]
        assert "Traceback" not in result.stderr
        assert (project.path / EVALUATE).read_text() == before
    finally:
        project.reset()


def test_fail_below_naive_fails_evaluate_on_the_sign_or_only_when_significant(project):
    metrics = ticker_metrics(project)
    skill, significant = metrics["skill"], metrics["significant"]
    try:
        project.set_params({"evaluate": {"fail_below_naive": True}})
        result = project.dvc("repro", check=False)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        if skill < 0:
            assert result.returncode != 0
            assert errors == [f"error: test skill < 0 for {TICKER}: the model loses to the naive forecast "
                              "(evaluate.fail_below_naive is true, fail_on sign; the metrics were written)"]
            # As the message says: the metrics of the failing run are there to read.
            assert ticker_metrics(project)["skill"] == skill
        else:
            assert result.returncode == 0 and not errors
        # fail_on significant fails only when the Diebold-Mariano test says the loss is real.
        project.set_params({"evaluate": {"fail_below_naive": True, "fail_on": "significant"}})
        result = project.dvc("repro", check=False)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        if skill < 0 and significant:
            assert result.returncode != 0 and errors[0].startswith("error: significantly (Diebold-Mariano p < 0.05)")
        else:
            assert result.returncode == 0 and not errors
    finally:
        project.reset()
