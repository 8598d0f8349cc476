"""Fixtures shared by the unit tests."""

import pytest

from stockpipe.lexicons import make_scorer


@pytest.fixture(scope="session")
def finance():
    """The vader_finance scorer (VADER plus finance words and phrases)."""
    return make_scorer("vader_finance")


@pytest.fixture(scope="session")
def vader():
    """The plain VADER scorer."""
    return make_scorer("vader")
