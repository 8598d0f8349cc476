"""Stage train_sentiment: fit the learned sentiment scorer on a labelled corpus and measure every scorer.

Frozen in dvc.yaml: the fitted model (models/sentiment/model.json) and its metrics are committed
with the project, so `dvc repro` never needs the corpus. docs/sentiment.md says how to fetch the
corpus and retrain. The metrics put each scorer (plain VADER, vader_finance, the learned model)
beside always-neutral on the validation texts, which the fit never sees.
"""

import argparse
import json
import logging

import numpy as np

from stockpipe.io import atomic_path, run_stage, write_json
from stockpipe.learned import LearnedScorer, fit, read_corpus
from stockpipe.lexicons import make_scorer
from stockpipe.params import load_params
from stockpipe.sentiment import agreement

log = logging.getLogger("train_sentiment")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("train", help="labelled CSV (text, label) to fit on")
    parser.add_argument("valid", help="labelled CSV to measure on, never fitted on")
    parser.add_argument("--model", required=True, help="JSON of the fitted parameters to write")
    parser.add_argument("--metrics", required=True, help="JSON of each scorer's validation accuracy and macro-F1")
    args = parser.parse_args()
    params = load_params()
    train, valid = read_corpus(args.train), read_corpus(args.valid)
    model = fit(train["text"].tolist(), train["label"].tolist(), params.seed)
    with atomic_path(args.model) as tmp:
        tmp.write_text(json.dumps(model.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")
    # Measured with the file as written: what the sentiment stage will score with.
    texts, labels = valid["text"].tolist(), valid["label"].to_numpy()
    scorers = {"learned": LearnedScorer.read(args.model), **{name: make_scorer(name)
                                                              for name in ("vader", "vader_finance")}}
    results = {"always_neutral": agreement(labels, np.zeros(len(labels)))}
    for name, scorer in scorers.items():
        scores = scorer.compound_many(texts) if getattr(scorer, "vectorised", False) else [
            scorer.compound(text) for text in texts]
        results[name] = agreement(labels, np.asarray(scores))
    write_json({"train": {"texts": len(train), "by_label": train["label"].value_counts().sort_index().to_dict()},
                "valid": {"texts": len(valid), "by_label": valid["label"].value_counts().sort_index().to_dict()},
                "regularisation": model.regularisation, "vocabulary": len(model.vocabulary), "scorers": results},
               args.metrics)
    for name, result in results.items():
        log.info("%-14s accuracy %.1f%%, macro-F1 %.3f on %d validation texts", name, 100 * result["accuracy"],
                 result["macro_f1"], len(valid))


if __name__ == "__main__":
    run_stage(main)
