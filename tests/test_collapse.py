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


def test_depth_gates_at_one_merge_a_chain_exactly(rng):
    # Two consecutive tri-state layers with d = 1 are linear: Dense d1, d2, d3 form one linear
    # map that merges into a single Dense (in two passes: d1 and d2 first, then with d3).
    inputs = keras.Input((6,))
    x = ns.TriStateReLU(name="ts1")(L.Dense(40, name="d1")(inputs))
    x = ns.TriStateReLU(name="ts2")(L.Dense(40, name="d2")(x))
    x = ns.TriStateReLU(name="ts3")(L.Dense(30, name="d3")(x))
    model = keras.Model(inputs, L.Dense(5, name="head")(x))
    weights = {}
    for name in ("d1", "d2", "d3", "head"):
        layer = model.get_layer(name)
        weights[name] = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
        layer.set_weights(weights[name])
    width = (rng.random(40) > 0.3).astype("float32")
    model.get_layer("ts1").width_gate.assign(width)
    for name, depth in (("ts1", 1.0), ("ts2", 1.0), ("ts3", 0.0)):
        model.get_layer(name).depth_gate.assign(depth)
    x = rng.normal(size=(16, 6)).astype("float64")
    (w1, b1), (w2, b2), (w3, b3), (w4, b4) = (weights[n] for n in ("d1", "d2", "d3", "head"))
    hidden = ((x @ w1 + b1) * width @ w2 + b2) @ w3 + b3  # ts1 and ts2 linear
    expected = np.maximum(hidden, 0.0) @ w4 + b4  # ts3 a ReLU
    collapsed = ns.shrink(model, collapse_linear=True)
    assert _dense_count(collapsed) == 2  # d1, d2, d3 merged into one, plus the head
    np.testing.assert_allclose(collapsed.predict(x.astype("float32"), verbose=0), expected,
                               rtol=1e-4, atol=1e-3)
