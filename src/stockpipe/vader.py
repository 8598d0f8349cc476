"""VADER's compound score, computed as NLTK computes it, without most of its cost.

NLTK's ``SentimentIntensityAnalyzer.polarity_scores`` spends most of its time building, for
every text, a dictionary of each word glued to each of 17 punctuation marks, only to strip
punctuation from the ends of tokens. ``Vader.compound`` strips it directly and skips the
three scores the pipeline never reads (pos, neu, neg); every rule of NLTK's implementation
(boosters, ALL-CAPS emphasis, negation within three words, "never so", "least", idioms,
"but", exclamation and question marks) is kept, including its quirks, so the compound score
is the same number NLTK gives. ``tests/unit/test_vader.py`` checks that on
every real headline in ../shared/data and on generated texts.

The rule tables (negations, boosters, idioms) are NLTK's own, read once, when first needed
(``vader_rules``): importing NLTK takes over a second, and a run with no headlines to score
never needs it.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stockpipe.errors import PipelineError

if TYPE_CHECKING:
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

_PUNCTUATION_CHARS = string.punctuation
_REMOVE_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
# Constants of VADER's score_valence and normalize.
_EXCLAMATION_WEIGHT = 0.292
_QUESTION_WEIGHT = 0.18
_QUESTION_CAP = 0.96
_ALPHA = 15


@dataclass(frozen=True)
class Rules:
    """NLTK's VADER rule tables (``VaderConstants``); the NLTK name of each is in its comment."""

    negations: frozenset[str]  # NEGATE
    boosters: dict[str, float]  # BOOSTER_DICT: word -> push given to the sentiment word after it
    idioms: dict[str, float]  # SPECIAL_CASE_IDIOMS
    punctuation_marks: frozenset[str]  # PUNC_LIST
    booster_decrement: float  # B_DECR
    caps_increment: float  # C_INCR
    negation_scalar: float  # N_SCALAR


@functools.cache
def vader_rules() -> Rules:
    """NLTK's VADER rule tables, read on the first call only (importing NLTK takes over a second)."""
    from nltk.sentiment.vader import VaderConstants

    constants = VaderConstants()
    return Rules(
        negations=frozenset(constants.NEGATE), boosters=constants.BOOSTER_DICT,
        idioms=constants.SPECIAL_CASE_IDIOMS, punctuation_marks=frozenset(constants.PUNC_LIST),
        booster_decrement=constants.B_DECR, caps_increment=constants.C_INCR, negation_scalar=constants.N_SCALAR,
    )


def vader_lexicon_file() -> Path:
    """``vader_lexicon.txt`` from the pinned vaderSentiment package.

    ``nltk.download`` needs the internet, which CI and many corporate networks do not
    have, so the lexicon comes from a package installed with requirements.txt.
    """
    spec = importlib.util.find_spec("vaderSentiment")
    if spec is None or spec.origin is None:
        raise PipelineError("sentiment needs the 'vaderSentiment' package for its lexicon "
                            "(pip install -r requirements.txt)")
    return Path(spec.origin).parent / "vader_lexicon.txt"


def read_vader_lexicon(path: str | Path | None = None) -> dict[str, float]:
    """Word -> valence, read as NLTK reads the file (the first two tab-separated fields)."""
    text = Path(path or vader_lexicon_file()).read_text(encoding="utf-8")
    lexicon = {}
    for line in text.split("\n"):
        fields = line.strip().split("\t")
        if len(fields) >= 2:
            lexicon[fields[0]] = float(fields[1])
    return lexicon


def nltk_analyzer() -> SentimentIntensityAnalyzer:
    """NLTK's own VADER analyzer reading the packaged lexicon, with no download.

    The reference that ``Vader`` must agree with, and the baseline of the speed benchmark.
    """
    import nltk
    from nltk.sentiment.vader import SentimentIntensityAnalyzer

    folder = str(vader_lexicon_file().parent)
    if folder not in nltk.data.path:
        nltk.data.path.insert(0, folder)
    return SentimentIntensityAnalyzer(lexicon_file="vader_lexicon.txt")


def _negated(word: str, negations: frozenset[str]) -> bool:
    lowered = word.lower()
    return lowered in negations or "n't" in lowered


def _scalar(word: str, lowered: str, valence: float, is_cap_diff: bool, rules: Rules) -> float:
    """VADER's scalar_inc_dec: the push of a booster or dampener word before a sentiment word."""
    scalar = rules.boosters.get(lowered, 0.0)
    if scalar:
        if valence < 0:
            scalar = -scalar
        if word.isupper() and is_cap_diff:
            scalar = scalar + rules.caps_increment if valence > 0 else scalar - rules.caps_increment
    return scalar


class Vader:
    """VADER compound scores for a lexicon (word -> valence).

    Args:
        lexicon: Lower-case words and their valence, e.g. from ``read_vader_lexicon``.
    """

    def __init__(self, lexicon: dict[str, float]):
        self.lexicon = lexicon
        self.rules = vader_rules()

    def tokens(self, text: str) -> list[str]:
        """VADER's words and emoticons: whitespace tokens longer than one character, with
        one run of punctuation (one of VADER's marks such as "," or "!?!") removed from
        either end when what remains is a word of the text."""
        tokens = [token for token in text.split() if len(token) > 1]
        marks = self.rules.punctuation_marks
        words = None
        for index, token in enumerate(tokens):
            if token[0] not in _PUNCTUATION_CHARS and token[-1] not in _PUNCTUATION_CHARS:
                continue
            if words is None:
                words = {word for word in _REMOVE_PUNCTUATION.sub("", text).split() if len(word) > 1}
            lead = len(token) - len(token.lstrip(_PUNCTUATION_CHARS))
            if 0 < lead < len(token) and token[:lead] in marks and token[lead:] in words:
                tokens[index] = token[lead:]
                continue
            trail = len(token) - len(token.rstrip(_PUNCTUATION_CHARS))
            if 0 < trail < len(token) and token[-trail:] in marks and token[:-trail] in words:
                tokens[index] = token[:-trail]
        return tokens

    def compound(self, text: str) -> float:
        """The compound score in [-1, 1], rounded to 4 decimals as NLTK rounds it."""
        tokens = self.tokens(text)
        if not tokens:
            return 0.0
        lexicon = self.lexicon
        lowered = [token.lower() for token in tokens]
        if lexicon.keys().isdisjoint(lowered):
            # No sentiment word: every valence is 0, and so is the score.
            return 0.0
        n_tokens = len(tokens)
        n_upper = sum(map(str.isupper, tokens))
        is_cap_diff = 0 < n_tokens - n_upper < n_tokens
        # NLTK scores a repeated token at the position of its first occurrence; so does this.
        if len(set(tokens)) < n_tokens:
            first_index: dict[str, int] = {}
            for index, token in enumerate(tokens):
                first_index.setdefault(token, index)
            positions = [first_index[token] for token in tokens]
        else:
            positions = range(n_tokens)
        boosters = self.rules.boosters
        sentiments = []
        for token, low, i in zip(tokens, lowered, positions, strict=True):
            if low in boosters or (low == "kind" and i < n_tokens - 1 and lowered[i + 1] == "of"):
                sentiments.append(0.0)
                continue
            valence = lexicon.get(low)
            if valence is None:
                sentiments.append(0)
                continue
            sentiments.append(self._valence(valence, token, i, tokens, lowered, is_cap_diff))
        if "but" in lowered:
            but = lowered.index("but")
            sentiments = [value * 0.5 if index < but else value * 1.5 if index > but else value
                          for index, value in enumerate(sentiments)]
        total = float(sum(sentiments))
        if total:
            emphasis = min(text.count("!"), 4) * _EXCLAMATION_WEIGHT
            questions = text.count("?")
            if questions > 1:
                emphasis += questions * _QUESTION_WEIGHT if questions <= 3 else _QUESTION_CAP
            total = total + emphasis if total > 0 else total - emphasis
        return round(total / math.sqrt(total * total + _ALPHA), 4)

    def _valence(self, valence: float, token: str, i: int, tokens: list[str], lowered: list[str],
                 is_cap_diff: bool) -> float:
        """VADER's sentiment_valence for a lexicon word at position ``i``."""
        lexicon, rules = self.lexicon, self.rules
        if token.isupper() and is_cap_diff:
            valence = valence + rules.caps_increment if valence > 0 else valence - rules.caps_increment
        for start in range(3):
            if i > start and lowered[i - start - 1] not in lexicon:
                push = _scalar(tokens[i - start - 1], lowered[i - start - 1], valence, is_cap_diff, rules)
                if start == 1 and push != 0:
                    push *= 0.95
                elif start == 2 and push != 0:
                    push *= 0.9
                valence += push
                valence = self._never(valence, tokens, start, i)
                if start == 2:
                    valence = self._idioms(valence, tokens, i)
        if i > 0 and lowered[i - 1] == "least" and "least" not in lexicon:
            if i == 1 or lowered[i - 2] not in ("at", "very"):
                valence *= rules.negation_scalar
        return valence

    def _never(self, valence: float, tokens: list[str], start: int, i: int) -> float:
        negations, negation_scalar = self.rules.negations, self.rules.negation_scalar
        if start == 0:
            if _negated(tokens[i - 1], negations):
                valence *= negation_scalar
        elif start == 1:
            if tokens[i - 2] == "never" and tokens[i - 1] in ("so", "this"):
                valence *= 1.5
            elif _negated(tokens[i - 2], negations):
                valence *= negation_scalar
        elif (tokens[i - 3] == "never" and tokens[i - 2] in ("so", "this")) or tokens[i - 1] in ("so", "this"):
            valence *= 1.25
        elif _negated(tokens[i - 3], negations):
            valence *= negation_scalar
        return valence

    def _idioms(self, valence: float, tokens: list[str], i: int) -> float:
        idioms = self.rules.idioms
        one_zero = f"{tokens[i - 1]} {tokens[i]}"
        two_one_zero = f"{tokens[i - 2]} {tokens[i - 1]} {tokens[i]}"
        two_one = f"{tokens[i - 2]} {tokens[i - 1]}"
        three_two_one = f"{tokens[i - 3]} {tokens[i - 2]} {tokens[i - 1]}"
        three_two = f"{tokens[i - 3]} {tokens[i - 2]}"
        for sequence in (one_zero, two_one_zero, two_one, three_two_one, three_two):
            if sequence in idioms:
                valence = idioms[sequence]
                break
        if len(tokens) - 1 > i:
            zero_one = f"{tokens[i]} {tokens[i + 1]}"
            if zero_one in idioms:
                valence = idioms[zero_one]
        if len(tokens) - 1 > i + 1:
            zero_one_two = f"{tokens[i]} {tokens[i + 1]} {tokens[i + 2]}"
            if zero_one_two in idioms:
                valence = idioms[zero_one_two]
        if three_two in self.rules.boosters or two_one in self.rules.boosters:
            valence += self.rules.booster_decrement
        return valence
