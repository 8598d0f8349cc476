"""The stock-price LSTM pipeline's library: the pure core, and the adapters that touch files and networks.

Stage entry points in ``src/`` parse arguments and call into it. Importing the package, or any
module of it, changes nothing outside it (no environment variables, no logging setup).
"""
