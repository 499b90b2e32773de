"""Tri-state depth reduction: linear Dense -> Dense pairs merge into one exact Dense."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns

L = keras.layers


def _dense_count(model):
    return sum(type(layer) is L.Dense for layer in model.layers)


def _tri_state_model(depth_first, rng):
    inputs = keras.Input((6,))
    x = ns.TriStateReLU(name="ts1")(L.Dense(40, name="d1")(inputs))
    x = ns.TriStateReLU(name="ts2")(L.Dense(30, name="d2")(x))
    model = keras.Model(inputs, L.Dense(5, name="head")(x))
    for layer in model.layers:
        for weight in layer.weights:
            weight.assign(rng.normal(size=weight.shape).astype("float32"))
    model.get_layer("ts1").width_gate.assign((rng.random(40) > 0.3).astype("float32"))
    model.get_layer("ts1").depth_gate.assign(depth_first)
    model.get_layer("ts2").width_gate.assign(np.ones(30, "float32"))
    model.get_layer("ts2").depth_gate.assign(0.0)
    return model


def test_linear_tri_state_layer_is_collapsed_exactly(rng):
    model = _tri_state_model(1.0, rng)
    x = rng.normal(size=(32, 6)).astype("float32")
    expected = model.predict(x, verbose=0)
    plain = ns.shrink(model)
    collapsed = ns.shrink(model, collapse_linear=True)
    assert _dense_count(plain) == 3 and _dense_count(collapsed) == 2
    assert collapsed.count_params() < plain.count_params()
    np.testing.assert_allclose(collapsed.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    merged = collapsed.get_layer("d2")
    assert merged.kernel.shape == (6, 30)


def test_relu_tri_state_layer_is_not_collapsed(rng):
    model = _tri_state_model(0.0, rng)
    assert _dense_count(ns.shrink(model, collapse_linear=True)) == 3


@pytest.mark.parametrize("hidden, merged", [(4, False), (64, True)])
def test_only_pairs_that_lower_the_cost_merge(hidden, merged):
    inputs = keras.Input((50,))
    x = L.Dense(hidden)(inputs)  # linear
    model = keras.Model(inputs, L.Dense(50)(x))
    assert (_dense_count(ns.shrink(model, collapse_linear=True)) == 1) == merged


def test_a_linear_output_read_twice_is_not_merged():
    inputs = keras.Input((8,))
    hidden = L.Dense(32)(inputs)
    model = keras.Model(inputs, L.Add()([L.Dense(32)(hidden), hidden]))
    assert _dense_count(ns.shrink(model, collapse_linear=True)) == 2
