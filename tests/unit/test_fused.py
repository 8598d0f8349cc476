"""The fused kernel's TensorFlow and Keras internals, and a trained model that is the same on any core count."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import stockpipe
from stockpipe.adapters.fused import check_internals

# Training as the train stage does it (threads configured first), on windows with a last batch that
# does not divide into the shards, so the padding path runs too.
TRAIN = """
import sys
import numpy as np
from stockpipe.adapters.model import configure_threads, train_and_save
from stockpipe.params import parse_params
configure_threads()
rng = np.random.default_rng(0)
x, y = rng.normal(size=(300, 10, 4)).astype("float32"), rng.normal(size=300).astype("float32")
params = parse_params({"model": {"window": 10, "units": 8, "dropout": 0.2}, "train": {"epochs": 3, "batch_size": 64}})
train_and_save(x[:245], y[:245], x[245:], y[245:], params.model, params.train, seed=7, path=sys.argv[1])
"""


def test_the_internals_fused_relies_on_are_there():
    """Fails with one line naming the internal when a TensorFlow or Keras outside requirements.txt's pins lacks it."""
    check_internals()


def test_same_params_and_seed_train_the_same_model_bytes_on_one_two_and_four_cores(tmp_path):
    available = sorted(os.sched_getaffinity(0))
    core_sets = [available[:count] for count in (1, 2, 4) if count <= len(available)]
    env = {**os.environ, "PYTHONPATH": str(Path(stockpipe.__file__).parents[1])}
    models = []
    for cores in core_sets:
        path = tmp_path / f"cores_{len(cores)}.keras"
        # The affinity is set before the interpreter starts, as taskset would: TensorFlow sizes its pools from it.
        subprocess.run([sys.executable, "-c", TRAIN, str(path)], check=True, capture_output=True, env=env,
                       preexec_fn=lambda cores=cores: os.sched_setaffinity(0, cores), timeout=300)
        models.append(path.read_bytes())
    assert len(core_sets) >= 2, "this machine runs on one core: nothing to compare"
    assert all(model == models[0] for model in models[1:]), [len(cores) for cores in core_sets]


@pytest.mark.parametrize("layer", ["LSTM", "Dropout"])
def test_plain_keras_layers_only_when_fused_is_off(layer):
    """build_model(fused=False) uses public Keras layers: nothing of this module's internals."""
    import keras

    from stockpipe.adapters.model import build_model

    model = build_model(window=3, n_features=2, layers=1, units=4, dropout_rate=0.2, learning_rate=0.01, fused=False)
    kinds = {type(item) for item in model.layers if layer.lower() in item.name}
    assert kinds == {getattr(keras.layers, layer)}
