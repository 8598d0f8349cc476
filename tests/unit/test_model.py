"""The Keras LSTM on tiny shapes: layer stack, repeatable training, safe save and load."""

import time

import numpy as np
import pytest
from dvclive import Live

from stockpipe.adapters.model import (
    batches,
    build_model,
    fit_model,
    live_callback,
    load_model,
    model_from_params,
    predict,
    save_model,
    set_seed,
    train_and_save,
)
from stockpipe.params import parse_params

WINDOW, N_FEATURES = 3, 2


def tiny_data(n_samples=16):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_samples, WINDOW, N_FEATURES)).astype("float32")
    return x, x[:, -1, 0] * 0.5


def test_train_and_save_fits_a_seeded_model_saves_it_and_says_which_epoch_was_kept(tmp_path):
    params = parse_params({"model": {"window": WINDOW, "units": 4}, "train": {"epochs": 3, "batch_size": 8}})
    x, y = tiny_data()

    first = train_and_save(x[:12], y[:12], x[12:], y[12:], params.model, params.train, seed=7,
                           path=tmp_path / "a" / "model.keras")
    again = train_and_save(x[:12], y[:12], x[12:], y[12:], params.model, params.train, seed=7,
                           path=tmp_path / "b" / "model.keras")

    assert len(first["loss"]) == len(first["val_loss"]) == 3
    assert first["val_loss"][first["best_epoch"] - 1] == min(first["val_loss"])
    assert first["windows_per_second"] > 0
    assert again["val_loss"] == first["val_loss"]  # the same seed, the same model
    assert [path.name for path in (tmp_path / "a").iterdir()] == ["model.keras"]  # no temporary file left
    np.testing.assert_array_equal(predict(load_model(tmp_path / "a" / "model.keras"), x[12:]),
                                  predict(load_model(tmp_path / "b" / "model.keras"), x[12:]))


def test_two_layer_stack():
    model = build_model(WINDOW, N_FEATURES, layers=2, units=4, dropout_rate=0.1, learning_rate=0.01)

    assert [(layer.name, type(layer).__name__) for layer in model.layers] == [
        ("window", "InputLayer"), ("lstm_1", "FusedLSTM"), ("dropout_1", "ShardedDropout"),
        ("lstm_2", "FusedLSTM"), ("dropout_2", "ShardedDropout"), ("next_day", "Dense"),
    ]
    lstm_1, lstm_2 = model.get_layer("lstm_1"), model.get_layer("lstm_2")
    assert (lstm_1.units, lstm_2.units) == (4, 4)
    # The first layer hands the whole sequence on; the last one its final state only.
    assert (lstm_1.return_sequences, lstm_2.return_sequences) == (True, False)
    assert model.get_layer("dropout_1").rate == 0.1
    assert model.input_shape == (None, WINDOW, N_FEATURES)
    assert model.output_shape == (None, 1)
    assert model.loss == "mse"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_model_from_params_takes_every_architecture_setting_and_the_learning_rate():
    params = parse_params({"model": {"window": WINDOW, "layers": 2, "units": 4, "dropout": 0.2, "cell": "gru",
                                     "dense_units": 5}, "train": {"learning_rate": 0.01}})

    model = model_from_params(params.model, params.train, N_FEATURES)

    assert [(layer.name, type(layer).__name__) for layer in model.layers] == [
        ("window", "InputLayer"), ("gru_1", "GRU"), ("dropout_1", "ShardedDropout"), ("gru_2", "GRU"),
        ("dropout_2", "ShardedDropout"), ("hidden", "Dense"), ("next_day", "Dense"),
    ]
    assert (model.get_layer("gru_1").units, model.get_layer("hidden").units) == (4, 5)
    assert model.get_layer("dropout_1").rate == 0.2
    assert model.input_shape == (None, WINDOW, N_FEATURES)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_one_layer_without_dropout():
    model = build_model(WINDOW, N_FEATURES, layers=1, units=8, dropout_rate=0.0, learning_rate=0.001)

    assert [layer.name for layer in model.layers] == ["window", "lstm_1", "next_day"]
    assert model.get_layer("lstm_1").return_sequences is False
    # LSTM weights: 4 gates x (inputs + units + bias) x units = 4 * (2 + 8 + 1) * 8; Dense 8 + 1.
    assert model.count_params() == 4 * (N_FEATURES + 8 + 1) * 8 + 9


def fitted_weights(seed):
    x, y = tiny_data()
    set_seed(seed)
    model = build_model(WINDOW, N_FEATURES, layers=1, units=4, dropout_rate=0.1, learning_rate=0.01)
    fit_model(model, x[:12], y[:12], x[12:], y[12:], epochs=2, batch_size=4, patience=5, seed=0)
    return model.get_weights()


def test_set_seed_makes_training_repeatable():
    first, second = fitted_weights(7), fitted_weights(7)

    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_initial_weights():
    def initial_kernel(seed):
        set_seed(seed)
        model = build_model(WINDOW, N_FEATURES, layers=1, units=4, dropout_rate=0.0, learning_rate=0.01)
        return model.get_layer("lstm_1").get_weights()[0]

    np.testing.assert_array_equal(initial_kernel(7), initial_kernel(7))
    assert not np.array_equal(initial_kernel(7), initial_kernel(8))


def epoch_rows(dataset):
    """Each epoch's batches of one pass over ``dataset``, as the first input of each window."""
    return [[window[0, 0] for window in x.numpy()] for x, _ in dataset]


def test_batches_give_every_window_once_per_epoch_with_its_target():
    x, y = tiny_data(10)
    dataset = batches(x, y, batch_size=4, shuffle_seed=3)

    for _ in range(3):
        epoch = list(dataset)
        assert [len(batch_x) for batch_x, _ in epoch] == [4, 4, 2]
        seen_x = np.concatenate([batch_x.numpy() for batch_x, _ in epoch])
        seen_y = np.concatenate([batch_y.numpy() for _, batch_y in epoch])
        order = np.argsort(seen_x[:, 0, 0])
        np.testing.assert_array_equal(seen_x[order], x[np.argsort(x[:, 0, 0])])
        np.testing.assert_array_equal(seen_y, seen_x[:, -1, 0] * 0.5)


def test_batches_reshuffle_every_epoch_in_an_order_the_seed_fixes():
    x, y = tiny_data(10)

    def orders(seed):
        dataset = batches(x, y, batch_size=4, shuffle_seed=seed)
        return [np.concatenate(epoch_rows(dataset)) for _ in range(3)]

    first, again = orders(3), orders(3)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], orders(4)[0])
    unshuffled = np.concatenate(epoch_rows(batches(x, y, batch_size=4)))
    np.testing.assert_array_equal(unshuffled, x[:, 0, 0])


def test_early_stopping_on_the_validation_loss():
    # A learning rate of 0 leaves the validation loss flat: no improvement after epoch 1,
    # so patience=1 stops training after epoch 2 of 10.
    x, y = tiny_data()
    set_seed(0)
    model = build_model(WINDOW, N_FEATURES, layers=1, units=2, dropout_rate=0.0, learning_rate=0.0)

    history = fit_model(model, x[:12], y[:12], x[12:], y[12:], epochs=10, batch_size=4, patience=1, seed=0)

    assert set(history.history) == {"loss", "val_loss"}
    assert len(history.history["val_loss"]) == 2


def test_epoch_losses_reach_dvclive_where_dvc_yaml_plots_them(tmp_path):
    x, y = tiny_data()
    model = build_model(WINDOW, N_FEATURES, layers=1, units=2, dropout_rate=0.0, learning_rate=0.01)

    with Live(dir=str(tmp_path / "train"), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        fit_model(model, x[:12], y[:12], x[12:], y[12:], epochs=2, batch_size=4, patience=5, seed=0,
                  callbacks=[live_callback(live)])

    for split in ("train", "eval"):
        lines = (tmp_path / "train" / "plots" / "metrics" / split / "loss.tsv").read_text().splitlines()
        assert lines[0].split("\t")[:2] == ["step", "loss"]
        assert len(lines) == 3
    assert (tmp_path / "train" / "metrics.json").is_file()


def test_predict_gives_a_flat_float64_array():
    x, _ = tiny_data(5)
    model = build_model(WINDOW, N_FEATURES, layers=1, units=2, dropout_rate=0.0, learning_rate=0.01)

    outputs = predict(model, x)

    assert outputs.shape == (5,)
    assert outputs.dtype == np.float64
    assert predict(model, x[:0]).shape == (0,)


def test_save_and_load_in_safe_mode_give_identical_predictions(tmp_path):
    x, _ = tiny_data(6)
    set_seed(3)
    model = build_model(WINDOW, N_FEATURES, layers=2, units=4, dropout_rate=0.1, learning_rate=0.01)
    path = tmp_path / "model.keras"

    save_model(model, path)
    loaded = load_model(path)

    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    # The file holds plain Keras LSTM layers, which sum in another order than the fused kernel.
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), atol=1e-6)


def test_saving_the_same_weights_again_gives_the_same_bytes(tmp_path):
    set_seed(3)
    model = build_model(WINDOW, N_FEATURES, layers=2, units=4, dropout_rate=0.1, learning_rate=0.01)

    save_model(model, tmp_path / "first.keras")
    time.sleep(1.1)  # Keras would stamp another second into the archive
    save_model(model, tmp_path / "second.keras")

    assert (tmp_path / "first.keras").read_bytes() == (tmp_path / "second.keras").read_bytes()
    x, _ = tiny_data(6)
    np.testing.assert_allclose(predict(load_model(tmp_path / "second.keras"), x), predict(model, x), atol=1e-6)


def _twin_models(layers, bidirectional=False):
    """The same random weights in a FusedLSTM model and in a plain Keras LSTM model."""
    fused, plain = (build_model(window=9, n_features=4, layers=layers, units=5, dropout_rate=0.2, learning_rate=0.01,
                                fused=kernel, bidirectional=bidirectional) for kernel in (True, False))
    rng = np.random.default_rng(layers)
    weights = [rng.normal(0, 0.5, values.shape).astype("float32") for values in fused.get_weights()]
    fused.set_weights(weights)
    plain.set_weights(weights)
    inputs = rng.normal(size=(32, 9, 4)).astype("float32")
    targets = rng.normal(size=32).astype("float32")
    return fused, plain, inputs, targets


def _assert_same_outputs_and_gradients(fused, plain, inputs, targets):
    import tensorflow as tf

    gradients = []
    for model in (fused, plain):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(inputs, training=False)[:, 0] - targets) ** 2)
        gradients.append(tape.gradient(loss, model.trainable_variables))
    np.testing.assert_allclose(fused(inputs).numpy(), plain(inputs).numpy(), atol=1e-6)
    for fused_gradient, plain_gradient in zip(*gradients, strict=True):
        np.testing.assert_allclose(fused_gradient.numpy(), plain_gradient.numpy(), atol=1e-6)


@pytest.mark.parametrize(("layers", "bidirectional"), [(1, False), (2, False), (2, True)])
def test_fused_lstm_outputs_and_gradients_match_keras_lstm(layers, bidirectional):
    # A gate-order mistake in the fused kernel's gradient showed as errors of about 0.1 here.
    # Bidirectional layers read each window backwards too: the kernel on the reversed sequence.
    _assert_same_outputs_and_gradients(*_twin_models(layers, bidirectional))


@pytest.mark.parametrize(("shards", "batch"), [(1, 32), (2, 32), (3, 32), (4, 5), (2, 1)])
def test_batch_shards_give_the_gradients_of_one_kernel(monkeypatch, shards, batch):
    """Whatever the shard count, and for batches that do not divide by it (padded with windows
    whose gradient must be exactly zero: the kernel's own gradient for an empty batch is garbage)."""
    from stockpipe.adapters import fused as fused_module

    monkeypatch.setattr(fused_module, "SHARDS", shards)
    fused, plain, inputs, targets = _twin_models(2)
    _assert_same_outputs_and_gradients(fused, plain, inputs[:batch], targets[:batch])


@pytest.mark.parametrize(("options", "kernels"), [
    ({}, ["fused BlockLSTM"]),
    ({"bidirectional": True}, ["fused BlockLSTM"]),
    ({"fused": False}, ["per-step loop"]),
    ({"recurrent_dropout": 0.1}, ["per-step loop"]),
    ({"cell": "gru"}, ["per-step loop"]),
    ({"layers": 0}, []),
])
def test_recurrent_kernels_name_the_path_a_training_step_takes_on_a_cpu(options, kernels):
    from stockpipe.adapters.model import recurrent_kernels

    model = build_model(**{"window": WINDOW, "n_features": N_FEATURES, "layers": 2, "units": 4, "dropout_rate": 0.2,
                           "learning_rate": 0.01, **options})
    assert recurrent_kernels(model) == kernels


def test_recurrent_kernels_trace_without_touching_weights_or_random_state():
    from stockpipe.adapters.model import recurrent_kernels

    x, y = tiny_data()
    trained = []
    for look_first in (False, True):
        set_seed(3)
        model = build_model(window=WINDOW, n_features=N_FEATURES, layers=2, units=4, dropout_rate=0.2,
                            learning_rate=0.01)
        if look_first:
            recurrent_kernels(model)
        fit_model(model, x, y, x, y, epochs=2, batch_size=4, patience=2, seed=3)
        trained.append(model.get_weights())
    for first, second in zip(*trained, strict=True):
        np.testing.assert_array_equal(first, second)


def test_saved_model_holds_plain_keras_lstm_layers(tmp_path):
    import keras

    fused, plain, inputs, _ = _twin_models(2)
    save_model(fused, tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert {type(layer) for layer in loaded.layers if "lstm" in layer.name} == {keras.layers.LSTM}
    assert {type(layer) for layer in loaded.layers if "dropout" in layer.name} == {keras.layers.Dropout}
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), plain.predict(inputs, verbose=0), atol=1e-6)


@pytest.mark.parametrize(("shards", "batch"), [(1, 600), (2, 600), (3, 601), (2, 1)])
def test_sharded_dropout_drops_at_the_rate_and_passes_the_mask_to_the_gradient(monkeypatch, shards, batch):
    import tensorflow as tf

    from stockpipe.adapters import fused

    monkeypatch.setattr(fused, "SHARDS", shards)
    layer = fused.ShardedDropout(0.2, seed=1)
    inputs = tf.fill([batch, 7, 5], 3.0)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs, training=True)
        loss = tf.reduce_sum(outputs * tf.range(5, dtype=tf.float32))
    outputs, gradient = outputs.numpy(), tape.gradient(loss, inputs).numpy()

    kept = outputs != 0
    # Kept values are scaled by 1 / (1 - rate); the gradient flows through the kept ones only.
    np.testing.assert_allclose(outputs[kept], 3.0 / 0.8, rtol=1e-6)
    np.testing.assert_allclose(gradient, np.where(kept, np.arange(5) / 0.8, 0.0), rtol=1e-6)
    if batch > 1:
        # 21,000 values: the dropped share is within 5 standard deviations of the rate.
        assert abs((~kept).mean() - 0.2) < 5 * np.sqrt(0.2 * 0.8 / kept.size)
        # Each shard draws from its own seed: no two windows share a mask.
        assert len({window.tobytes() for window in kept}) == batch
    np.testing.assert_array_equal(layer(inputs, training=False).numpy(), inputs.numpy())


def test_sharded_dropout_masks_repeat_with_the_seed_and_change_every_step():
    import tensorflow as tf

    from stockpipe.adapters.fused import ShardedDropout

    inputs = tf.ones([64, 10, 4])
    first, again, other = ShardedDropout(0.3, seed=7), ShardedDropout(0.3, seed=7), ShardedDropout(0.3, seed=8)
    masks = [first(inputs, training=True).numpy() for _ in range(2)]

    np.testing.assert_array_equal(again(inputs, training=True).numpy(), masks[0])
    assert not np.array_equal(masks[0], masks[1])
    assert not np.array_equal(other(inputs, training=True).numpy(), masks[0])


def test_sharded_dropout_draws_one_mask_for_the_whole_batch_on_a_gpu(monkeypatch):
    import tensorflow as tf

    from stockpipe.adapters import fused

    monkeypatch.setattr(fused, "SHARDS", 16)
    draws = {}
    for gpu in (False, True):
        monkeypatch.setattr(fused, "_gpu_available", lambda gpu=gpu: gpu)
        layer = fused.ShardedDropout(0.2, seed=1)
        graph = tf.function(lambda x, layer=layer: layer(x, training=True)).get_concrete_function(
            tf.TensorSpec([None, 7, 5])).graph
        # The mask bits are int32 draws (the seeds split off for the parts are int64).
        draws[gpu] = sum(op.type == "StatelessRandomUniformFullIntV2" and op.outputs[0].dtype == tf.int32
                         for op in graph.get_operations())

    assert draws == {False: 16, True: 1}


def test_configure_threads_runs_one_thread_per_operation_one_operation_per_core():
    import os
    import subprocess
    import sys
    from pathlib import Path

    import stockpipe
    from stockpipe.adapters.io import usable_cores

    script = ("import tensorflow as tf; from stockpipe.adapters.model import configure_threads; configure_threads(); "
              "tf.constant(1.0) + 1; t = tf.config.threading; "
              "print(t.get_intra_op_parallelism_threads(), t.get_inter_op_parallelism_threads())")
    # A process of its own: the settings must come before TensorFlow runs anything.
    env = {**os.environ, "PYTHONPATH": str(Path(stockpipe.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)

    assert result.stdout.split() == ["1", str(usable_cores())]
