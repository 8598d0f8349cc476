"""The fast VADER gives NLTK's compound score exactly: rules by hand, real headlines, generated texts."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpipe.vader import Vader, nltk_analyzer, read_vader_lexicon, vader_lexicon_file


@pytest.fixture(scope="module")
def nltk():
    return nltk_analyzer()


@pytest.fixture(scope="module")
def fast_vader():
    return Vader(read_vader_lexicon())


def test_lexicon_comes_from_the_vadersentiment_package():
    lexicon = read_vader_lexicon()

    assert vader_lexicon_file().name == "vader_lexicon.txt"
    assert len(lexicon) > 7000
    assert lexicon["good"] == 1.9
    assert lexicon["crisis"] == -3.1


@pytest.mark.parametrize("text", [
    "Stocks plunge as recession fears grow",  # plain lexicon words
    "The outlook is not good",  # negation just before
    "It isn't really a good result",  # "n't" three words before, booster between
    "The results were VERY good, the outlook BAD",  # ALL-CAPS emphasis and booster
    "GOOD NEWS EVERYWHERE",  # all caps: no emphasis
    "Results were good but guidance was bad",  # "but" halves before, 1.5x after
    "Never so good",  # "never so"
    "at least it is good",
    "the least good quarter",  # "least" negates unless "at least"
    "good!!! great??",  # exclamation and question marks
    "kind of good",  # "kind of" dampens
    "yeah right, the bomb",  # idioms
    "\"Great\" - said the CEO, (really) bad.",  # punctuation around words
    ":) a strong start :-(",  # emoticons
    "good good bad good",  # a repeated token takes its first position's context
    "",
    "a",
])
def test_rules_match_nltk(nltk, fast_vader, text):
    assert fast_vader.compound(text) == nltk.polarity_scores(text)["compound"]


def test_every_real_headline_matches_nltk(nltk, fast_vader, shared_data):
    headlines = pd.concat([
        pd.read_csv(shared_data / "news" / "guardian_headlines_2017_2020.csv")["Headlines"],
        pd.read_csv(shared_data / "news" / "benzinga_headlines_A-ACAT_2009_2020.csv")["title"],
    ]).dropna()

    different = [text for text in headlines if fast_vader.compound(text) != nltk.polarity_scores(text)["compound"]]

    assert len(headlines) == 27793
    assert different == []


_WORDS = ["good", "bad", "great", "not", "never", "so", "this", "very", "extremely", "slightly", "kind", "of",
          "least", "at", "but", "BAD", "GOOD", "VERY", "isn't", "the", "bomb", "yeah", "right", "no", "crisis",
          "profit", "shares", "sort", ":)", ":(", "!", "?", ",", "-", "good.", "bad!", "(great)", "\"bad\""]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12), st.sampled_from(["", "!", "!!", "??", "???", "?!?"]))
def test_generated_texts_match_nltk(nltk, fast_vader, words, ending):
    text = " ".join(words) + ending

    assert fast_vader.compound(text) == nltk.polarity_scores(text)["compound"]
