"""train_sentiment for real: frozen, `dvc repro` (-f too) neither needs the corpus nor retrains; unfrozen, it refits.

The labelled corpus is read from ../shared/data/sentiment (other people's text, never copied
into the project); a slice of it keeps the fit to seconds.
"""

import json

import pandas as pd

from tests.pipeline.conftest import copy_project, stages_run

MODEL = "models/sentiment/model.json"


def test_the_frozen_stage_keeps_the_committed_model_and_an_unfrozen_one_refits_it(tmp_path, shared_data):
    corpus = shared_data / "sentiment"
    project = copy_project(tmp_path / "project")
    project.commit("copy")
    committed = (project.path / MODEL).read_bytes()

    # A fresh clone has no corpus: the frozen stage is skipped, even under -f, and the model kept.
    result = project.dvc("repro", "train_sentiment")
    assert stages_run(result.stdout) == set()
    assert "'train_sentiment' is frozen" in result.stderr
    result = project.dvc("repro", "-f", "sentiment")
    assert stages_run(result.stdout) == {"download_news", "sentiment"}
    assert (project.path / MODEL).read_bytes() == committed

    # A refit that fails leaves the committed model and metrics as they were.
    dvc_yaml = project.path / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("    frozen: true\n", "    frozen: false\n"))
    metrics_before = (project.path / "metrics/sentiment.json").read_bytes()
    result = project.dvc("repro", "-f", "train_sentiment", check=False)
    assert result.returncode != 0
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: data/sentiment/train.csv: no such file (a labelled corpus: text and label columns; see "
        "docs/sentiment.md for how to fetch one)"]
    assert (project.path / MODEL).read_bytes() == committed
    assert (project.path / "metrics/sentiment.json").read_bytes() == metrics_before

    # Retraining as docs/sentiment.md says: labelled CSVs under data/sentiment/, frozen: false.
    folder = project.path / "data" / "sentiment"
    folder.mkdir(parents=True)
    pd.read_csv(corpus / "twitter_financial_news_train.csv").iloc[:1500].to_csv(folder / "train.csv", index=False)
    pd.read_csv(corpus / "twitter_financial_news_valid.csv").iloc[:500].to_csv(folder / "valid.csv", index=False)

    result = project.dvc("repro", "-f", "train_sentiment")

    assert stages_run(result.stdout) == {"train_sentiment"}
    refitted = (project.path / MODEL).read_bytes()
    assert refitted != committed
    model = json.loads(refitted)
    assert model["labels"] == ["bearish", "neutral", "bullish"] and len(model["coef"]) == 3
    metrics = json.loads((project.path / "metrics/sentiment.json").read_text())
    assert (metrics["train"]["texts"], metrics["valid"]["texts"]) == (1500, 500)
    assert metrics["train"]["path"] == "data/sentiment/train.csv" and len(metrics["train"]["sha256"]) == 64
    assert set(metrics["scorers"]) == {"always_neutral", "vader", "vader_finance", "learned"}
    # Even on a sixth of the corpus the learned scorer beats plain VADER on texts it never saw.
    assert metrics["scorers"]["learned"]["accuracy"] > metrics["scorers"]["vader"]["accuracy"]
