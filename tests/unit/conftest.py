"""Fixtures shared by the unit tests."""

from pathlib import Path

import pytest

from stockpipe.learned import MODEL_FILE, LearnedScorer
from stockpipe.lexicons import make_scorer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def finance():
    """The vader_finance scorer (VADER plus finance words and phrases)."""
    return make_scorer("vader_finance")


@pytest.fixture(scope="session")
def vader():
    """The plain VADER scorer."""
    return make_scorer("vader")


@pytest.fixture(scope="session")
def learned_scorer():
    """The learned scorer of the committed model (models/sentiment/model.json), wherever pytest runs from."""
    return LearnedScorer.read(ROOT / MODEL_FILE)
