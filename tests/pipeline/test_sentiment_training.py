"""train_sentiment for real: frozen, `dvc repro` neither needs the corpus nor retrains; unfrozen, it refits.

The labelled corpus is read from ../shared/data/sentiment (other people's text, never copied
into the project); a slice of it keeps the fit to seconds.
"""

import json

import pandas as pd

from tests.pipeline.conftest import ROOT, copy_project, stages_run

CORPUS = ROOT.parent / "shared" / "data" / "sentiment"
MODEL = "models/sentiment/model.json"


def test_the_frozen_stage_keeps_the_committed_model_and_an_unfrozen_one_refits_it(tmp_path):
    project = copy_project(tmp_path / "project")
    project.commit("copy")
    committed = (project.path / MODEL).read_bytes()

    # A fresh clone has no corpus: dvc status and the stage list say so without failing.
    result = project.dvc("repro", "train_sentiment")
    assert stages_run(result.stdout) == set()
    assert "'train_sentiment' is frozen" in result.stderr
    assert (project.path / MODEL).read_bytes() == committed

    # Retraining as docs/sentiment.md says: labelled CSVs under data/sentiment/, frozen: false.
    folder = project.path / "data" / "sentiment"
    folder.mkdir(parents=True)
    pd.read_csv(CORPUS / "twitter_financial_news_train.csv").iloc[:1500].to_csv(folder / "train.csv", index=False)
    pd.read_csv(CORPUS / "twitter_financial_news_valid.csv").iloc[:500].to_csv(folder / "valid.csv", index=False)
    dvc_yaml = project.path / "dvc.yaml"
    dvc_yaml.write_text(dvc_yaml.read_text().replace("    frozen: true\n", "    frozen: false\n"))

    result = project.dvc("repro", "train_sentiment")

    assert stages_run(result.stdout) == {"train_sentiment"}
    refitted = (project.path / MODEL).read_bytes()
    assert refitted != committed
    model = json.loads(refitted)
    assert model["labels"] == ["bearish", "neutral", "bullish"] and len(model["coef"]) == 3
    metrics = json.loads((project.path / "metrics/sentiment.json").read_text())
    assert (metrics["train"]["texts"], metrics["valid"]["texts"]) == (1500, 500)
    assert set(metrics["scorers"]) == {"always_neutral", "vader", "vader_finance", "learned"}
    # Even on a sixth of the corpus the learned scorer beats plain VADER on texts it never saw.
    assert metrics["scorers"]["learned"]["accuracy"] > metrics["scorers"]["vader"]["accuracy"]
