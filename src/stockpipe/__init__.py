"""The stock-price LSTM pipeline's library, in two tiers.

The core (``stockpipe.*``: cleaning, features, windows, metrics, evaluation, intervals, sentiment
scoring, ...) takes and returns data: DataFrames, arrays, params. The adapters
(``stockpipe.adapters.*``: files, HTTP, price/news/social providers, model training and persistence)
are the only modules that reach the outside world; ``stockpipe.adapters``' docstring lists the few
core functions that still read a file. Stage entry points in ``src/`` parse arguments and wire the two.

Importing the package, or any module of it, changes nothing outside it (no environment variables,
no logging setup).
"""
