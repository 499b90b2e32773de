"""Gate and TriStateReLU: their formulas, penalties and save/load."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns


def test_gate_multiplies_by_relu_theta(rng):
    gate = ns.Gate(l1=0.1)
    x = rng.normal(size=(3, 4)).astype("float32")
    gate.build(x.shape)
    theta = np.array([1.5, -0.2, 0.0, 0.7], "float32")
    gate.theta.assign(theta)
    np.testing.assert_allclose(np.asarray(gate(x)), x * np.maximum(theta, 0), rtol=1e-6)
    assert float(gate.losses[0]) == pytest.approx(0.1 * np.abs(theta).sum())


def test_tri_state_relu_training_and_binarized_inference(rng):
    layer = ns.TriStateReLU()
    x = rng.normal(size=(5, 3)).astype("float32")
    layer.build(x.shape)
    layer.width_gate.assign([0.9, 0.3, 0.6])
    layer.depth_gate.assign(0.7)
    w, d = np.array([0.9, 0.3, 0.6]), 0.7
    expected_train = np.where(x >= 0, w * x, w * d * x)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), expected_train, rtol=1e-6)
    wb = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), wb * x, rtol=1e-6)


def _tri_state_mlp(complexity):
    inputs = keras.Input((6,))
    x = keras.layers.Dense(5)(inputs)
    first = ns.TriStateReLU(binarize=0.1, complexity=complexity, name="first")
    x = first(x)
    x = keras.layers.Dense(4)(x)
    second = ns.TriStateReLU(complexity=complexity, linearity=0.5, name="second")
    x = second(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


def test_tri_state_complexity_couples_consecutive_layers(rng):
    model = _tri_state_mlp(complexity=0.01)
    first, second = model.get_layer("first"), model.get_layer("second")
    first.width_gate.assign(np.full(5, 0.5, "float32"))
    second.width_gate.assign(np.full(4, 0.25, "float32"))
    model(rng.normal(size=(2, 6)).astype("float32"), training=True)
    binarizing = 0.1 * (5 * 0.25 + 0.0)  # w(1-w) with w = 0.5; depth 0
    first_width = 0.01 * 2.5 * 6          # the first layer's chain starts at 6 input features
    second_width = 0.01 * 1.0 * 2.5       # sum(w_second) * sum(w_first)
    linearity = 0.5 * 1.0
    expected = binarizing + first_width + second_width + linearity
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_tri_state_gates_are_clipped_by_training(rng):
    model = _tri_state_mlp(complexity=1.0)
    model.compile(keras.optimizers.SGD(5.0), "mse")
    x = rng.normal(size=(32, 6)).astype("float32")
    model.fit(x, rng.normal(size=(32, 2)), epochs=2, verbose=0)
    for name in ("first", "second"):
        gates = model.get_layer(name).width_gate.numpy()
        assert gates.min() >= 0.0 and gates.max() <= 1.0


@pytest.mark.parametrize("complexity", [0.0, 0.01])
def test_layers_round_trip_through_keras_file(tmp_path, rng, complexity):
    model = _tri_state_mlp(complexity)
    inputs = keras.Input((6,))
    gated = keras.Model(inputs, ns.Gate(l1=0.01)(model(inputs)))
    x = rng.normal(size=(4, 6)).astype("float32")
    path = tmp_path / "m.keras"
    gated.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(restored(x)), np.asarray(gated(x)))
    assert restored.layers[-1].get_config()["l1"] == 0.01
    # The complexity coupling is rebuilt on load: same training-time losses.
    gated(x, training=True)
    restored(x, training=True)
    assert float(sum(restored.losses)) == pytest.approx(float(sum(gated.losses)), rel=1e-6)


def _gate_steps(multiplier, learning_rate, x, c, steps, l1=0.02, momentum=0.9):
    """Theta after ``steps`` of ProximalSGD on ``sum(c * gate(x))``, gates trained alone."""
    inputs = keras.Input(x.shape[1:])
    gate = ns.Gate(l1=l1, learning_rate_multiplier=multiplier)
    model = keras.Model(inputs, gate(inputs))
    model.compile(ns.ProximalSGD(learning_rate, momentum=momentum),
                  lambda _, out: keras.ops.sum(out * c, axis=-1))
    gate.theta.assign(np.array([1.0, 0.05, 0.4], "float32"))
    model.fit(x, np.zeros(len(x)), batch_size=len(x), epochs=steps, verbose=0)
    return gate.theta.numpy()


def _numpy_proximal_sgd(theta, gradient, rate, threshold, momentum, steps):
    velocity = np.zeros_like(theta)
    for _ in range(steps):
        g = np.where(theta > 0, gradient, 0.0)  # d relu(theta) / d theta
        velocity = momentum * velocity - rate * g
        theta = theta + velocity
        theta = np.sign(theta) * np.maximum(np.abs(theta) - threshold, 0.0)
    return theta


def test_gate_learning_rate_multiplier_is_a_gate_learning_rate(rng):
    x = np.abs(rng.normal(size=(8, 3))).astype("float32")
    c = np.array([-0.5, 0.3, 0.01], "float32")  # grows gate 0, kills gate 1, gate 2 by L1
    theta = _gate_steps(10.0, 0.01, x, c, steps=4)
    # The loss is the batch mean of sum(c * x * relu(theta)): its gradient is mean(x) * c.
    gradient = x.mean(axis=0) * c
    expected = _numpy_proximal_sgd(np.array([1.0, 0.05, 0.4]), gradient, rate=0.1,
                                   threshold=0.1 * 0.02, momentum=0.9, steps=4)
    np.testing.assert_allclose(theta, expected, rtol=1e-5, atol=1e-7)
    assert theta[1] <= 0.0  # closed (momentum carried it past zero): max(0, theta) = 0
    np.testing.assert_allclose(theta, _gate_steps(1.0, 0.1, x, c, steps=4), rtol=1e-5)


def test_gate_multiplier_leaves_the_forward_pass_and_round_trips(tmp_path, rng):
    x = rng.normal(size=(3, 4)).astype("float32")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, ns.Gate(l1=0.01, learning_rate_multiplier=300.0)(inputs))
    theta = np.array([0.3, -0.1, 1.7, 1e-3], "float32")
    model.layers[-1].theta.assign(theta)
    np.testing.assert_array_equal(np.asarray(model(x)), x * np.maximum(theta, 0))
    # The penalty carries the multiplier, so the L1 part of theta's gradient is scaled too.
    assert float(model.layers[-1].losses[0]) == pytest.approx(3.0 * np.abs(theta).sum())
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras").layers[-1]
    assert restored.get_config()["learning_rate_multiplier"] == 300.0
    assert restored.theta.regularizer.strength == pytest.approx(3.0)
