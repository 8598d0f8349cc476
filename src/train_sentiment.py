"""Stage train_sentiment: fit the learned sentiment scorer on a labelled corpus and measure every scorer.

Frozen in dvc.yaml: the fitted model (models/sentiment/model.json) and its metrics are committed
with the project, so `dvc repro` never needs the corpus. docs/sentiment.md says how to fetch the
corpus and retrain. The metrics put each scorer (plain VADER, vader_finance, the learned model)
beside always-neutral on the validation texts, which the fit never sees.
"""

import argparse
import hashlib
import logging
from pathlib import Path

from stockpipe.adapters.io import atomic_path, run_stage, write_json
from stockpipe.errors import PipelineError
from stockpipe.learned import LearnedScorer, fit, model_bytes, read_corpus
from stockpipe.lexicons import make_scorer
from stockpipe.params import load_params
from stockpipe.sentiment import scorer_agreement

log = logging.getLogger("train_sentiment")


def corpus_record(path: str, table) -> dict:
    """Where a corpus file came from: its path, SHA-256, number of texts and texts per label."""
    return {"path": path, "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "texts": len(table),
            "by_label": table["label"].value_counts().sort_index().to_dict()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("train", help="labelled CSV (text, label) to fit on")
    parser.add_argument("valid", help="labelled CSV to measure on, never fitted on")
    parser.add_argument("--model", required=True, help="JSON of the fitted parameters to write")
    parser.add_argument("--metrics", required=True, help="JSON of each scorer's validation accuracy and macro-F1")
    args = parser.parse_args()
    params = load_params()
    train, valid = read_corpus(args.train), read_corpus(args.valid)
    try:
        model = fit(train["text"].tolist(), train["label"].tolist(), params.seed)
    except ValueError as error:
        raise PipelineError(f"{args.train}: {error}") from None
    # Measured as the file will hold it (rounded), before anything is written: a failure here leaves
    # the committed model and metrics as they were.
    learned = LearnedScorer.of(model)
    results = scorer_agreement(valid["text"].tolist(), valid["label"].to_numpy(),
                               {"learned": learned, **{name: make_scorer(name) for name in ("vader", "vader_finance")}})
    # The corpus is not a DVC dep of this frozen stage (dvc.yaml says why): its hashes keep the record.
    with atomic_path(args.model) as tmp:
        tmp.write_bytes(model_bytes(model))
    write_json({"train": corpus_record(args.train, train), "valid": corpus_record(args.valid, valid),
                "regularisation": model.regularisation, "vocabulary": len(model.vocabulary), "scorers": results},
               args.metrics)
    for name, result in results.items():
        log.info("%-14s accuracy %.1f%%, macro-F1 %.3f on %d validation texts", name, 100 * result["accuracy"],
                 result["macro_f1"], len(valid))


if __name__ == "__main__":
    run_stage(main)
