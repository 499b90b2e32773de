"""Recurrent layers, Bidirectional, Embedding and Dense-like EinsumDense: units killed the way
a unit-group penalty kills them shrink to the same function."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.checks import assert_equivalent
from tests.helpers.unit_groups import zero_unit_groups
from tf_neuronselect import grouping

L = keras.layers


def _stack(last_returns_sequences):
    x = keras.Input((7, 5))
    h = L.Dense(12, activation="relu", name="proj")(x)
    h = L.LSTM(10, return_sequences=True, name="lstm")(h)
    h = L.GRU(8, return_sequences=True, name="gru")(h)
    h = L.SimpleRNN(6, return_sequences=last_returns_sequences, name="rnn")(h)
    if last_returns_sequences:
        h = L.Flatten(name="flat")(h)
    return keras.Model(x, L.Dense(3, name="head")(h))


def _bidirectional(merge_mode, last_returns_sequences):
    x = keras.Input((7, 5))
    h = L.Bidirectional(L.LSTM(6, return_sequences=True), merge_mode=merge_mode, name="bi1")(x)
    h = L.Bidirectional(L.GRU(5, return_sequences=last_returns_sequences),
                        merge_mode=merge_mode, name="bi2")(h)
    if last_returns_sequences:
        h = L.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(x, L.Dense(3, name="head")(h))


def _embedded():
    x = keras.Input((9,), dtype="int32")
    h = L.Embedding(50, 12, name="emb")(x)
    h = L.EinsumDense("abc,cd->abd", output_shape=(None, 10), bias_axes="d",
                      activation="relu", name="ein")(h)
    return keras.Model(x, L.Dense(3, name="head")(L.LSTM(8, name="lstm")(h)))


CASES = {f"stack_sequences_{s}": (lambda s=s: _stack(s)) for s in (True, False)}
CASES.update({f"bidirectional_{m}_{s}": (lambda m=m, s=s: _bidirectional(m, s))
              for m in ("concat", "sum", "ave", "mul") for s in (True, False)})
CASES["embedding_einsum_lstm"] = _embedded


def _inputs(model, rng):
    shape = (4,) + tuple(model.inputs[0].shape[1:])
    if model.inputs[0].dtype.startswith("int"):
        return rng.integers(0, 50, size=shape)
    return rng.normal(size=shape).astype("float32")


@pytest.mark.parametrize("name", sorted(CASES))
def test_sequence_models_shrink_exactly(name):
    rng = np.random.default_rng(0)
    model = CASES[name]()
    assert zero_unit_groups(model, 0.4, rng) > 0
    plan = ns.make_plan(model)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, _inputs(model, rng))
    assert shrunk.count_params() == plan.params_after < model.count_params()


def test_a_gated_kernel_groups_a_units_column_in_every_gate():
    kernel = np.arange(2 * 12, dtype="float32").reshape(2, 12)  # a GRU: 3 gates of 4 units
    assert grouping.num_units(kernel.shape, "gru") == 4
    matrix = np.asarray(grouping.unit_matrix(kernel, "gru"))
    np.testing.assert_array_equal(matrix[:, 1], kernel[:, [1, 5, 9]].reshape(-1))
    np.testing.assert_array_equal(grouping.take_units(kernel, "gru", "incoming", [1, 3]),
                                  kernel[:, [1, 3, 5, 7, 9, 11]])
    assert grouping.take_units(kernel, "gru", "outgoing", [1]).shape == (1, 12)


def test_a_dead_recurrent_unit_whose_activation_moves_zero_stays():
    x = keras.Input((5, 3))
    model = keras.Model(x, L.Dense(2)(L.SimpleRNN(4, activation="sigmoid", name="rnn")(x)))
    cell = model.get_layer("rnn").cell
    for variable in (cell.kernel, cell.recurrent_kernel):
        value = keras.ops.convert_to_numpy(variable).copy()
        value[:, 1] = 0.0
        variable.assign(value)
    cell.bias.assign(np.array([0.1, 0.0, 0.2, 0.3], "float32"))
    # sigmoid(0) = 0.5 feeds the other units through the recurrent kernel: not removable.
    assert ns.make_plan(model).layers["rnn"].keep_out.tolist() == [0, 1, 2, 3]


def test_a_shrunk_bidirectional_model_loads_with_plain_keras(tmp_path):
    rng = np.random.default_rng(1)
    model = _bidirectional("concat", True)
    zero_unit_groups(model, 0.4, rng)
    shrunk = ns.shrink(model)
    assert not any(isinstance(layer, L.Bidirectional) for layer in shrunk.layers)
    shrunk.save(tmp_path / "bi.keras")
    loaded = keras.models.load_model(tmp_path / "bi.keras")
    assert_equivalent(model, loaded, _inputs(model, rng))


@pytest.mark.slow
def test_a_unit_group_penalty_kills_lstm_units_in_every_gate_at_once():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6, 4)).astype("float32")
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, L.Dense(1, name="head")(L.LSTM(16, name="lstm")(inputs)))
    ns.add_penalty(model, ns.GroupLasso(0.05), over="unit_groups")
    model.compile(ns.ProximalSGD(0.1, momentum=0.9), "mse")
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    cell = model.get_layer("lstm").cell
    norms = [grouping.unit_norms_numpy(keras.ops.convert_to_numpy(w), "lstm")
             for w in (cell.kernel, cell.recurrent_kernel, cell.bias)]
    dead = norms[0] == 0
    assert 0 < dead.sum() < 16
    assert all(np.array_equal(n == 0, dead) for n in norms)  # every member at once
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, x[:8])
    assert shrunk.get_layer("lstm").units == 16 - dead.sum()
