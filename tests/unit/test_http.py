"""The shared HTTP helpers; the downloaders' tests exercise them against a local server."""

import pytest

from stockpipe.errors import PipelineError
from stockpipe.http import hiding_key


def test_hiding_key_replaces_the_key_as_written_and_as_sent_in_a_query_string():
    echo = "stooq AAPL: key ab+c/d refused (/q/d/l/?apikey=ab%2Bc%2Fd)"

    with pytest.raises(PipelineError) as hidden, hiding_key("ab+c/d"):
        raise PipelineError(echo)
    with pytest.raises(PipelineError) as kept, hiding_key(None):
        raise PipelineError(echo)

    assert str(hidden.value) == "stooq AAPL: key *** refused (/q/d/l/?apikey=***)"
    assert kept.value.args == (echo,)
