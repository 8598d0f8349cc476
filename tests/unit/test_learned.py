"""The learned scorer: text normalisation, reading a labelled corpus, the JSON model file, the score
convention, and the committed model measured on the real Twitter Financial News validation split."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stockpipe import learned
from stockpipe.errors import PipelineError
from stockpipe.learned import LABELS, LearnedModel, LearnedScorer, fit, model_bytes, normalise, read_corpus
from stockpipe.sentiment import agreement, polarity

ROOT = Path(__file__).resolve().parents[2]
METRICS_FILE = ROOT / "metrics" / "sentiment.json"
# Rows of the first training texts that the round-trip model is fitted on: enough for every
# class and a vocabulary of a few thousand terms, and under a second to fit.
FIT_ROWS = 1000
# The corpus codes its labels 0 Bearish, 1 Bullish, 2 Neutral.
CODES = {"0": "bearish", "1": "bullish", "2": "neutral"}


@pytest.fixture(scope="module")
def corpus(shared_data) -> Path:
    """The folder of the Twitter Financial News Sentiment files (train and valid)."""
    return shared_data / "sentiment"


@pytest.fixture(scope="module")
def valid(corpus):
    return read_corpus(corpus / "twitter_financial_news_valid.csv")


@pytest.fixture(scope="module")
def small_model(corpus) -> LearnedModel:
    train = read_corpus(corpus / "twitter_financial_news_train.csv").iloc[:FIT_ROWS]
    return fit(train["text"].tolist(), train["label"].tolist(), seed=42)


def write_model(path: Path, data: dict, **dumps) -> Path:
    path.write_text(json.dumps(data, **dumps), encoding="utf-8")
    return path


def unigrams(text: str) -> list[str]:
    """The single tokens the scorer's vectorizer sees in ``text`` (bigrams left out)."""
    return [token for token in learned._vectorizer().build_analyzer()(text) if " " not in token]


# --- normalise -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Read https://t.co/KN1g4AWFIb or www.reuters.com/markets", ["read", "url", "or", "url"]),
        ("$AAPL and $BRK.B rally", ["cashtag", "and", "cashtag", "rally"]),
        ("EPS 35.4 on 1,200 units and -3% shares", ["eps", "num", "on", "num", "units", "and", "num", "%", "shares"]),
        # A dollar amount is a number, not a cashtag: a cashtag starts with a letter.
        ("Shares at $1.23", ["shares", "at", "$", "num"]),
        ("Fed HOLDS Rates Steady", ["fed", "holds", "rates", "steady"]),
    ],
)
def test_links_cashtags_and_numbers_become_one_lower_case_word_each(text, words):
    assert normalise(text).split() == words


def test_emoji_are_tokens_of_their_own_even_when_touching_a_word():
    tokens = learned._vectorizer().build_analyzer()("$TSLA to the moon🚀🚀 📈")

    assert unigrams("$TSLA to the moon🚀🚀 📈") == ["cashtag", "to", "the", "moon", "🚀", "🚀", "📈"]
    assert {"moon 🚀", "🚀 🚀", "🚀 📈"} <= set(tokens)


def test_the_vectorizer_reads_links_cashtags_and_numbers_as_their_words():
    assert unigrams("$AAPL up 3.5% https://t.co/x") == ["cashtag", "up", "num", "url"]


# --- read_corpus ---------------------------------------------------------------------------------


def test_the_shared_corpus_is_read_whole_with_its_labels(corpus):
    train = read_corpus(corpus / "twitter_financial_news_train.csv")
    valid = read_corpus(corpus / "twitter_financial_news_valid.csv")

    assert (len(train), len(valid)) == (9543, 2388)
    assert list(train.columns) == ["text", "label"]
    assert set(train["label"]) == set(valid["label"]) == set(LABELS)


@pytest.mark.parametrize("name", ["twitter_financial_news_train.csv", "twitter_financial_news_valid.csv"])
def test_the_corpus_agrees_with_the_standard_csv_reader_on_multi_line_texts_and_crlf(corpus, name):
    with open(corpus / name, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))

    table = read_corpus(corpus / name)

    assert table["text"].tolist() == [row["text"] for row in rows]
    assert table["label"].tolist() == [CODES[row["label"]] for row in rows]
    # Some quoted texts span lines; none keeps the carriage return of a CRLF line end.
    assert table["text"].str.contains("\n").any()
    assert not table["text"].str.endswith("\r").any()


def test_labels_are_codes_or_words_in_any_case(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\r\n"
                    "a,0\r\nb,1\r\nc,2\r\n"
                    "d,bearish\r\ne,BULLISH\r\nf,Neutral\r\n"
                    "g,negative\r\nh, Positive \r\n", encoding="utf-8")

    table = read_corpus(path)

    assert table["label"].tolist() == ["bearish", "bullish", "neutral", "bearish", "bullish", "neutral", "bearish",
                                       "bullish"]
    assert table["text"].tolist() == list("abcdefgh")


@pytest.mark.parametrize(("label", "shown"), [("maybe", "'maybe'"), ("1.0", "'1.0'"), ("", "''")])
def test_a_bad_label_names_the_file_its_record_and_the_value(tmp_path, label, shown):
    path = tmp_path / "labelled.csv"
    path.write_text(f"text,label\nStocks fall,0\nStocks rise,Bullish\nFed meets,{label}\nOil jumps,1\n",
                    encoding="utf-8")

    with pytest.raises(PipelineError) as error:
        read_corpus(path)

    # The third record after the header (counted in records: a quoted text may span lines).
    assert re.fullmatch(rf"{re.escape(str(path))}: record 3 \(after the header\): label {re.escape(shown)} is not "
                        r"one of 0 \(bearish\), 1 \(bullish\), 2 \(neutral\) or those words", str(error.value))


def test_a_bad_label_after_a_text_spanning_lines_is_counted_in_records(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text('text,label\r\n"Line one\r\nline two\r\nline three",0\r\nStocks rise,up\r\n', encoding="utf-8")

    with pytest.raises(PipelineError, match=r": record 2 \(after the header\): label 'up' "):
        read_corpus(path)


@pytest.mark.parametrize("content", [b"", b"text,label\n\xff\xfe bad bytes,0\n"], ids=["empty", "not-utf8"])
def test_a_file_that_is_not_a_readable_csv_is_one_line(tmp_path, content):
    path = tmp_path / "labelled.csv"
    path.write_bytes(content)

    with pytest.raises(PipelineError, match=rf"^{re.escape(str(path))}: not a readable labelled CSV \(.+\)$"):
        read_corpus(path)


def test_a_folder_is_not_a_corpus(tmp_path):
    with pytest.raises(PipelineError, match=rf"^{re.escape(str(tmp_path))}: not a readable labelled CSV"):
        read_corpus(tmp_path)


@pytest.mark.parametrize(("header", "missing"), [("headline,label", "text"), ("text,sentiment", "label")])
def test_a_missing_column_names_the_file_and_the_columns_it_has(tmp_path, header, missing):
    path = tmp_path / "labelled.csv"
    path.write_text(f"{header}\nStocks fall,0\n", encoding="utf-8")

    with pytest.raises(PipelineError) as error:
        read_corpus(path)

    columns = header.split(",")
    assert str(error.value) == f"{path}: no {missing!r} column (has {columns})"


def test_a_missing_corpus_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "absent.csv"

    with pytest.raises(PipelineError, match=rf"^{re.escape(str(path))}: no such file .*docs/sentiment\.md") as error:
        read_corpus(path)

    assert "\n" not in str(error.value)


# --- the model file ------------------------------------------------------------------------------


def test_a_fitted_model_read_back_from_its_file_scores_as_it_did_in_memory(small_model, valid, tmp_path):
    path = write_model(tmp_path / "model.json", small_model.to_dict(), separators=(",", ":"))
    texts = valid["text"].tolist()

    reread = LearnedScorer.read(path)

    # The file keeps 7 significant digits of each parameter, so each is within half a unit of the 7th digit.
    for name in ("idf", "coef", "intercept"):
        np.testing.assert_allclose(getattr(reread.model, name), getattr(small_model, name), rtol=5e-7, atol=0)
    assert reread.model.vocabulary == small_model.vocabulary
    assert reread.model.regularisation == small_model.regularisation
    # Relative errors of 5e-7 in the parameters move a probability by well under 1e-6.
    in_memory = LearnedScorer(small_model, fingerprint="in memory")
    np.testing.assert_allclose(reread.compound_many(texts), in_memory.compound_many(texts), rtol=0, atol=1e-6)
    np.testing.assert_allclose(reread.probabilities(texts), in_memory.probabilities(texts), rtol=0, atol=1e-6)


def test_the_model_file_holds_plain_json_lists_and_no_pickle(small_model, tmp_path):
    path = write_model(tmp_path / "model.json", small_model.to_dict())

    raw = path.read_bytes()
    data = json.loads(raw)

    assert not raw.startswith(b"\x80")  # a pickle's first byte (its protocol opcode)
    assert set(data) == {"format", "labels", "tokens", "regularisation", "vocabulary", "idf", "coef", "intercept"}
    assert (data["format"], data["labels"]) == (1, ["bearish", "neutral", "bullish"])
    terms = len(data["vocabulary"])
    assert all(isinstance(term, str) for term in data["vocabulary"])
    assert len(data["idf"]) == terms and all(type(value) is float for value in data["idf"])
    assert [len(row) for row in data["coef"]] == [terms] * 3
    assert all(type(value) is float for row in data["coef"] for value in row)
    assert len(data["intercept"]) == 3 and all(type(value) is float for value in data["intercept"])
    assert all(value == float(f"{value:.7g}") for value in data["idf"] + data["coef"][0] + data["intercept"])


@pytest.mark.parametrize(
    "change",
    [{"format": 2}, {"format": None}, {"labels": ["bullish", "neutral", "bearish"]}, {"labels": ["neg", "neu", "pos"]}],
)
def test_a_model_of_another_format_or_label_order_is_refused_in_one_line(small_model, tmp_path, change):
    data = {**small_model.to_dict(), **change}
    message = (r"not a learned sentiment model of format 1 with labels \['bearish', 'neutral', 'bullish'\]; "
               r"retrain it \(docs/sentiment\.md\)$")

    with pytest.raises(PipelineError, match=rf"^models/old\.json: {message}"):
        LearnedModel.from_dict(data, "models/old.json")
    path = write_model(tmp_path / "model.json", data)
    with pytest.raises(PipelineError, match=rf"^{re.escape(str(path))}: {message}"):
        LearnedScorer.read(path)


def test_a_missing_or_broken_model_file_is_one_line_naming_it(tmp_path):
    absent = tmp_path / "absent.json"
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1, "labels": [', encoding="utf-8")

    with pytest.raises(PipelineError, match=rf"^{re.escape(str(absent))}: no learned sentiment model; .*"
                                            r"`dvc repro train_sentiment`"):
        LearnedScorer.read(absent)
    with pytest.raises(PipelineError, match=rf"^{re.escape(str(broken))}: unreadable learned sentiment model \("
                       ) as error:
        LearnedScorer.read(broken)
    assert "\n" not in str(error.value)


def test_the_fingerprint_follows_the_file_bytes(small_model, tmp_path):
    data = small_model.to_dict()
    compact = write_model(tmp_path / "compact.json", data, separators=(",", ":"))
    copy = tmp_path / "elsewhere" / "model.json"
    copy.parent.mkdir()
    shutil.copy(compact, copy)
    indented = write_model(tmp_path / "indented.json", data, indent=1)
    coef = [list(row) for row in data["coef"]]
    coef[2][0] += 0.5
    changed = write_model(tmp_path / "changed.json", {**data, "coef": coef}, separators=(",", ":"))

    fingerprint = LearnedScorer.read(compact).fingerprint

    # Stable across reads and places; the same numbers written differently, or one number changed, give another.
    assert LearnedScorer.read(compact).fingerprint == LearnedScorer.read(copy).fingerprint == fingerprint
    assert LearnedScorer.read(indented).fingerprint != fingerprint
    assert LearnedScorer.read(changed).fingerprint not in {fingerprint, LearnedScorer.read(indented).fingerprint}
    assert LearnedScorer.read(indented).compound_many(["Stocks fall"]) == LearnedScorer.read(
        compact).compound_many(["Stocks fall"])


# --- the score convention, on the committed model ---------------------------------------------------


def test_reading_a_score_by_vaders_thresholds_gives_the_most_likely_class(learned_scorer, valid):
    texts = valid["text"].tolist()

    scores = np.asarray(learned_scorer.compound_many(texts))
    most_likely = np.asarray(LABELS)[learned_scorer.probabilities(texts).argmax(axis=1)]

    assert len(scores) == len(texts)
    assert polarity(scores).tolist() == most_likely.tolist()
    assert np.all((scores >= -1) & (scores <= 1))
    # All three classes occur, so every branch of the convention is exercised.
    assert set(most_likely) == set(LABELS)


def test_probabilities_are_one_row_per_text_summing_to_one(learned_scorer, valid):
    probabilities = learned_scorer.probabilities(valid["text"].tolist())

    assert probabilities.shape == (len(valid), 3)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_one_text_scores_as_it_does_in_a_batch(learned_scorer, valid):
    texts = valid["text"].tolist()[:50]

    batch = learned_scorer.compound_many(texts)

    assert [learned_scorer.compound(text) for text in texts] == batch
    assert learned_scorer.compound_many([]) == []


# --- the committed model, measured -----------------------------------------------------------------


def test_the_committed_model_reproduces_its_metrics_and_beats_plain_vader(learned_scorer, valid, vader):
    recorded = json.loads(METRICS_FILE.read_text(encoding="utf-8"))["scorers"]
    labels, texts = valid["label"].to_numpy(), valid["text"].tolist()

    measured = agreement(labels, np.asarray(learned_scorer.compound_many(texts)))
    plain = agreement(labels, np.asarray([vader.compound(text) for text in texts]))

    assert measured == recorded["learned"]
    assert plain == recorded["vader"]
    assert measured["accuracy"] >= plain["accuracy"] + 0.15
    assert measured["macro_f1"] >= 0.70


def test_the_committed_model_is_the_one_the_metrics_describe(learned_scorer):
    metrics = json.loads(METRICS_FILE.read_text(encoding="utf-8"))

    assert len(learned_scorer.model.vocabulary) == metrics["vocabulary"]
    assert learned_scorer.model.regularisation == metrics["regularisation"]
    assert metrics["valid"]["texts"] == 2388 and metrics["train"]["texts"] == 9543


# --- text people feed it ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Title Case headlines without a verb: nothing happened yet.
        ("Apple Q3 Earnings Preview", "neutral"),
        ("Federal Reserve Interest Rate Decision", "neutral"),
        # A tweet with a cashtag, emoji and a link.
        ("$TSLA to the moon 🚀🚀 https://t.co/AbC123", "bullish"),
        # Sentences from a company report.
        ("Net sales decreased 12% compared with the prior year, primarily due to lower volume.", "bearish"),
        ("Revenue grew 25% year over year to a record $4.2 billion.", "bullish"),
        # Headlines of the kind the news sources give.
        ("Stocks plunge as recession fears grow", "bearish"),
        ("Apple shares soar to record high on strong earnings", "bullish"),
        # Nothing to read: the classes' intercepts alone, which favour neutral.
        ("", "neutral"),
        ("   ", "neutral"),
    ],
)
def test_text_people_feed_it_gets_a_score_in_range_with_the_clear_cases_right(learned_scorer, text, expected):
    score = learned_scorer.compound(text)

    assert type(score) is float
    assert -1 <= score <= 1
    assert polarity([score]).tolist() == [expected]


def test_links_are_found_whatever_their_case():
    assert normalise("READ HTTPS://T.CO/AB now") == "read  url  now"


def test_a_label_with_fewer_texts_than_folds_is_refused_before_fitting():
    texts = [f"stocks rise on news {index}" for index in range(12)]
    labels = ["bullish"] * 4 + ["bearish"] * 4 + ["neutral"] * 4

    with pytest.raises(ValueError, match=r"^every label needs at least 5 texts for 5-fold cross-validation \(has "
                                         r"bearish 4, neutral 4, bullish 4\)$"):
        fit(texts, labels, seed=1)


def test_texts_without_a_shared_word_leave_nothing_to_learn():
    texts = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo",
             "lima", "mike", "november", "oscar"]

    with pytest.raises(ValueError, match="^no word occurs in two training texts: nothing to learn from$"):
        fit(texts, ["bullish", "bearish", "neutral"] * 5, seed=1)


def test_an_empty_corpus_is_one_line(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\n", encoding="utf-8")

    with pytest.raises(PipelineError, match=rf"^{re.escape(str(path))}: no labelled texts$"):
        read_corpus(path)


def test_the_scorer_of_a_fitted_model_scores_as_its_file_will(small_model, tmp_path):
    # What train_sentiment measures before writing: the model rounded as the file holds it.
    path = tmp_path / "model.json"
    path.write_bytes(model_bytes(small_model))
    texts = ["Stocks plunge as profits collapse", "Company beats estimates", "Board meets on Tuesday"]

    assert LearnedScorer.of(small_model).compound_many(texts) == LearnedScorer.read(path).compound_many(texts)
    assert LearnedScorer.of(small_model).fingerprint == LearnedScorer.read(path).fingerprint


def test_the_fingerprint_changes_with_the_scoring_codes_version(small_model, monkeypatch):
    before = LearnedScorer.of(small_model).fingerprint
    monkeypatch.setattr(learned, "SCORER_VERSION", "2")

    assert LearnedScorer.of(small_model).fingerprint != before


@pytest.mark.parametrize(("change", "message"), [
    (lambda data: data.pop("idf"), r"damaged learned sentiment model \(KeyError: 'idf'\)"),
    (lambda data: data.update(idf=data["idf"][:-1]), r"idf has shape \(\d+,\), expected \(\d+,\) of finite"),
    (lambda data: data.update(intercept=[0.0, float("nan"), 1.0]), r"intercept has shape \(3,\), expected \(3,\) "
                                                                     r"of finite numbers"),
    (lambda data: data.update(coef=[[0.0]] * 3), r"coef has shape \(3, 1\), expected \(3, \d+\)"),
], ids=["missing", "short-idf", "nan", "coef-shape"])
def test_a_damaged_model_file_is_one_line(small_model, tmp_path, change, message):
    data = small_model.to_dict()
    change(data)
    path = write_model(tmp_path / "model.json", data)

    with pytest.raises(PipelineError, match=rf"^{re.escape(str(path))}: .*{message}"):
        LearnedScorer.read(path)
    with pytest.raises(PipelineError, match=r"not a learned sentiment model"):
        LearnedModel.from_dict([1, 2, 3], "list.json")


def test_the_fit_does_not_follow_the_machines_blas_threads(corpus):
    # Fitted in two processes told to use one and four BLAS threads: the same bytes.
    code = ("import sys; from stockpipe.learned import fit, model_bytes, read_corpus; "
            f"train = read_corpus(sys.argv[1]).iloc[:{FIT_ROWS}]; "
            "sys.stdout.write(model_bytes(fit(train['text'].tolist(), train['label'].tolist(), seed=42)).hex())")
    outputs = set()
    for threads in ("1", "4"):
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OPENBLAS_NUM_THREADS": threads,
               "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        result = subprocess.run([sys.executable, "-c", code, str(corpus / "twitter_financial_news_train.csv")],
                                env=env, capture_output=True, text=True, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1
