"""Pure functions behind the stock-price LSTM pipeline.

Stage entry points in ``src/`` do the file I/O; everything here takes and returns
plain data (DataFrames, arrays, dicts) so it can be tested with tiny literal inputs.
"""

import os

# TensorFlow's C++ start-up lines (CUDA probing on CPU-only machines, oneDNN notes) bury the
# stage logs; failures still raise Python exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
