"""sentiment.lexicon learned: a classifier of finance text fitted by the train_sentiment stage.

TF-IDF of word unigrams and bigrams (scikit-learn), and a three-class logistic regression
(bearish, neutral, bullish) whose regularisation is chosen by 5-fold cross-validation on the
training texts alone. Before tokenising, links become ``url``, cashtags (``$AAPL``) become
``cashtag`` and numbers ``num``, so a model fitted on tweets reads headlines and report
sentences too; emoji are tokens of their own. The fitted parameters are saved as plain JSON
(vocabulary, idf weights, coefficients), never as a pickle. A headline's score is
P(bullish) - P(bearish), a number in [-1, 1] placed on the side of VADER's thresholds (>= 0.05
positive, <= -0.05 negative) that the most likely class says, so the session features mean the
same whichever scorer made them.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stockpipe.errors import PipelineError
from stockpipe.sentiment import POSITIVE_THRESHOLD as THRESHOLD

MODEL_FILE = Path("models/sentiment/model.json")
LABELS = ("bearish", "neutral", "bullish")
# The public Twitter Financial News corpus codes 0 Bearish, 1 Bullish, 2 Neutral; words are read as well.
LABEL_CODES = {"0": "bearish", "1": "bullish", "2": "neutral", "bearish": "bearish", "bullish": "bullish",
               "neutral": "neutral", "negative": "bearish", "positive": "bullish"}
REGULARISATION = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
FOLDS = 5
FORMAT = 1
# Bump when scoring code changes in a way the model file does not show (normalise, tokens, the score
# mapping), so the score cache does not reuse scores of older code.
SCORER_VERSION = "1"
# Words of two or more letters or digits, or one pictograph (emoji).
TOKEN_PATTERN = r"(?u)\b\w\w+\b|[\u2600-\u27bf\U0001f300-\U0001faff]"
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z0-9.]{0,9}\b")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def normalise(text: str) -> str:
    """Lower-case text with links, cashtags and numbers replaced by one word each."""
    text = _URL.sub(" url ", str(text))
    text = _CASHTAG.sub(" cashtag ", text)
    return _NUMBER.sub(" num ", text).lower()


def _vectorizer(**fitted):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(preprocessor=normalise, token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), min_df=2,
                           sublinear_tf=True, dtype=np.float64, **fitted)


def read_corpus(path: str | Path) -> pd.DataFrame:
    """A labelled CSV (``text`` and ``label`` columns) as text and one of ``LABELS`` per row.

    Raises:
        PipelineError: One line naming the file, and the row and value of a bad label.
    """
    try:
        table = pd.read_csv(path, dtype={"text": str, "label": str}, keep_default_na=False)
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such file (a labelled corpus: text and label columns; see "
                            "docs/sentiment.md for how to fetch one)") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        # Empty files, folders, text that is not UTF-8, broken quoting.
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PipelineError(f"{path}: not a readable labelled CSV ({reason})") from None
    missing = [name for name in ("text", "label") if name not in table.columns]
    if missing:
        raise PipelineError(f"{path}: no {missing[0]!r} column (has {list(table.columns)})")
    if table.empty:
        raise PipelineError(f"{path}: no labelled texts")
    labels = table["label"].str.strip().str.lower().map(LABEL_CODES)
    bad = labels.isna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        # Counted in records, not lines: a quoted text may span lines.
        raise PipelineError(f"{path}: record {row + 1} (after the header): label {table['label'].iloc[row]!r} is "
                            "not one of 0 (bearish), 1 (bullish), 2 (neutral) or those words")
    return pd.DataFrame({"text": table["text"], "label": labels})


@dataclass(frozen=True)
class LearnedModel:
    """The fitted parameters: vocabulary and idf of the TF-IDF, and the logistic regression per class."""

    vocabulary: list[str]
    idf: np.ndarray
    coef: np.ndarray  # (classes, terms), classes in LABELS order
    intercept: np.ndarray
    regularisation: float

    def to_dict(self) -> dict:
        # Seven significant digits: the file is the model, so its scores are these numbers' scores.
        return {"format": FORMAT, "labels": list(LABELS), "tokens": "normalise(): url, cashtag, num; "
                "word unigrams and bigrams, min_df 2, sublinear tf", "regularisation": self.regularisation,
                "vocabulary": self.vocabulary, "idf": _rounded(self.idf),
                "coef": [_rounded(row) for row in self.coef], "intercept": _rounded(self.intercept)}

    @classmethod
    def from_dict(cls, data, source: str) -> LearnedModel:
        """The model of a parsed file.

        Raises:
            PipelineError: Not a model of this format, or arrays of the wrong shape or not finite.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("labels") != list(LABELS):
            raise PipelineError(f"{source}: not a learned sentiment model of format {FORMAT} with labels "
                                f"{list(LABELS)}; retrain it (docs/sentiment.md)")
        try:
            vocabulary = [str(term) for term in data["vocabulary"]]
            idf, coef, intercept = (np.asarray(data[key], dtype="float64") for key in ("idf", "coef", "intercept"))
            regularisation = float(data["regularisation"])
        except (KeyError, TypeError, ValueError) as error:
            raise PipelineError(f"{source}: damaged learned sentiment model ({type(error).__name__}: {error}); "
                                "restore it from git or retrain it") from None
        shapes = {"idf": (len(vocabulary),), "coef": (len(LABELS), len(vocabulary)), "intercept": (len(LABELS),)}
        for key, values in (("idf", idf), ("coef", coef), ("intercept", intercept)):
            if values.shape != shapes[key] or not np.isfinite(values).all():
                raise PipelineError(f"{source}: damaged learned sentiment model ({key} has shape {values.shape}, "
                                    f"expected {shapes[key]} of finite numbers); restore it from git or retrain it")
        return cls(vocabulary=vocabulary, idf=idf, coef=coef, intercept=intercept, regularisation=regularisation)


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{value:.7g}") for value in np.asarray(values, dtype="float64")]


def fit(texts: list[str], labels: list[str], seed: int) -> LearnedModel:
    """Fit the TF-IDF and the logistic regression on the training texts; C by 5-fold CV on them (macro-F1).

    Each fold refits the TF-IDF on its own training part, so the held-out part shapes nothing
    that scores it. BLAS runs on one thread: with more, the solver's last digits and so the
    choice of C can change with the machine's core count.

    Raises:
        ValueError: Fewer than ``FOLDS`` texts of a label, or no word seen in two texts.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    counts = {label: labels.count(label) for label in LABELS}
    if min(counts.values()) < FOLDS:
        raise ValueError(f"every label needs at least {FOLDS} texts for {FOLDS}-fold cross-validation "
                         f"(has {', '.join(f'{label} {count}' for label, count in counts.items())})")
    pipeline = Pipeline([("tfidf", _vectorizer()),
                         ("classifier", LogisticRegression(max_iter=5000, tol=1e-6, class_weight="balanced"))])
    search = GridSearchCV(pipeline, {"classifier__C": list(REGULARISATION)}, scoring="f1_macro", n_jobs=1,
                          cv=StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed), error_score="raise")
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            search.fit(texts, labels)
    except ValueError as error:
        if "vocabulary" in str(error) or "no terms remain" in str(error):
            raise ValueError("no word occurs in two training texts: nothing to learn from") from None
        raise
    vectorizer, classifier = search.best_estimator_["tfidf"], search.best_estimator_["classifier"]
    order = [list(classifier.classes_).index(label) for label in LABELS]
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    return LearnedModel(vocabulary=vocabulary, idf=vectorizer.idf_, coef=classifier.coef_[order],
                        intercept=classifier.intercept_[order],
                        regularisation=float(search.best_params_["classifier__C"]))


def model_bytes(model: LearnedModel) -> bytes:
    """The model file's contents: compact JSON, one line."""
    return (json.dumps(model.to_dict(), separators=(",", ":")) + "\n").encode("utf-8")


def fingerprint(raw: bytes) -> str:
    """What keys the score cache: a hash of the model file and of the scoring code's version."""
    return hashlib.sha256(SCORER_VERSION.encode() + b"\0" + raw).hexdigest()[:16]


class LearnedScorer:
    """Scores texts with a saved ``LearnedModel``: P(bullish) - P(bearish), in [-1, 1]."""

    name = "learned"
    # Scores whole batches at once (sparse matrix products), so the stage needs no worker processes.
    vectorised = True

    def __init__(self, model: LearnedModel, fingerprint: str):
        self.model = model
        self.fingerprint = fingerprint
        self.vectorizer = _vectorizer(vocabulary={term: index for index, term in enumerate(model.vocabulary)})
        self.vectorizer.idf_ = model.idf

    @classmethod
    def of(cls, model: LearnedModel) -> LearnedScorer:
        """The scorer of a model as its file would hold it (numbers rounded as ``to_dict`` writes them)."""
        raw = model_bytes(model)
        return cls(LearnedModel.from_dict(json.loads(raw), "the fitted model"), fingerprint(raw))

    @classmethod
    def read(cls, path: str | Path = MODEL_FILE) -> LearnedScorer:
        """The scorer of a model file; its fingerprint (the file and ``SCORER_VERSION``) keys the score cache.

        Raises:
            PipelineError: A missing or unreadable file, naming it and how to make it.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
            data = json.loads(raw)
        except FileNotFoundError:
            raise PipelineError(f"{path}: no learned sentiment model; it is committed with the project, or "
                                "`dvc repro train_sentiment` fits one (docs/sentiment.md)") from None
        except (OSError, ValueError) as error:
            raise PipelineError(f"{path}: unreadable learned sentiment model ({error})") from None
        return cls(LearnedModel.from_dict(data, str(path)), fingerprint(raw))

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(bearish), P(neutral), P(bullish) of each text, one row per text."""
        logits = self.vectorizer.transform(list(texts)) @ self.model.coef.T + self.model.intercept
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def compound_many(self, texts: list[str]) -> list[float]:
        """Each text's score: P(bullish) - P(bearish), moved to VADER's side of +-0.05 for the most likely class.

        A text the model calls bullish scores at least 0.05, bearish at most -0.05, and neutral
        strictly between (its difference scaled by 0.05), so reading a score with VADER's
        thresholds gives the model's own class.
        """
        if not len(texts):
            return []
        probabilities = self.probabilities(texts)
        difference = probabilities[:, 2] - probabilities[:, 0]
        label = probabilities.argmax(axis=1)
        score = np.where(label == 2, np.maximum(difference, THRESHOLD),
                         np.where(label == 0, np.minimum(difference, -THRESHOLD), THRESHOLD * difference))
        return score.tolist()

    def compound(self, text: str) -> float:
        return self.compound_many([text])[0]
