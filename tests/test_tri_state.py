"""TriStateReLU's straight-through training, complexity measures and the tri-state recipe."""

import re

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tf_neuronselect import datasets
from tf_neuronselect.examples import recipes

L = keras.layers


def _gradients(layer, x, loss_fn):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn(layer(x, training=True)) + sum(layer.losses)
    return tape.gradient(loss, [layer.width_gate, layer.depth_gate])


def test_straight_through_training_forward_is_the_inference_network(rng):
    layer = ns.TriStateReLU(straight_through=True)
    x = rng.normal(size=(5, 3)).astype("float32")
    layer.build(x.shape)
    layer.width_gate.assign([0.9, 0.3, 0.6])
    layer.depth_gate.assign(0.7)
    expected = np.where(x >= 0, np.array([1.0, 0.0, 1.0]) * x, np.array([1.0, 0.0, 1.0]) * x)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), expected, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), expected, rtol=1e-6)


def test_straight_through_gradient_reaches_open_and_closed_gates(rng):
    layer = ns.TriStateReLU(straight_through=True)
    x = np.abs(rng.normal(size=(8, 3))).astype("float32") + 0.1
    layer.build(x.shape)
    layer.width_gate.assign([0.9, 0.2, 0.6])
    width_grad, _ = _gradients(layer, x, lambda y: keras.ops.sum(y))
    # d sum(bin(w) * x) / dw through the identity backward pass: sum of each channel's input,
    # also for the closed channel (its "reopen" signal).
    np.testing.assert_allclose(np.asarray(width_grad), x.sum(axis=0), rtol=1e-5)


def test_without_straight_through_training_uses_real_gates(rng):
    layer = ns.TriStateReLU()
    x = np.abs(rng.normal(size=(4, 2))).astype("float32")
    layer.build(x.shape)
    layer.width_gate.assign([0.7, 0.2])
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), x * [0.7, 0.2], rtol=1e-6)


def _conv_net(measure, straight_through=True):
    inputs = keras.Input((8, 8, 1))
    x = L.Conv2D(4, 3, name="conv")(inputs)  # 6x6x4, kernel 3*3*1*4
    first = ns.TriStateReLU(complexity=0.01, complexity_measure=measure,
                            straight_through=straight_through, name="first")
    x = L.MaxPooling2D(2)(first(x))  # 3x3x4
    x = L.Flatten()(x)
    x = L.Dense(5, name="fc")(x)  # kernel 36 x 5: 9 weights per (channel, unit) pair
    second = ns.TriStateReLU(complexity=0.01, complexity_measure=measure,
                             straight_through=straight_through, name="second")
    return keras.Model(inputs, L.Dense(2)(second(x)))


@pytest.mark.parametrize("measure, fans", [("neurons", (1, 1)), ("parameters", (9, 9)),
                                           ("fan_in", (9, 9))])
def test_complexity_counts_live_parameters(rng, measure, fans):
    model = _conv_net(measure)
    first, second = model.get_layer("first"), model.get_layer("second")
    first.width_gate.assign([1.0, 0.9, 0.2, 0.6])  # 3 live channels
    second.width_gate.assign([1.0, 1.0, 0.1, 0.0, 0.7])  # 3 live units
    model(rng.normal(size=(2, 8, 8, 1)).astype("float32"), training=True)
    # conv: 1 input channel x 3 live channels; fc: 3 live channels x 3 live units.
    expected = 0.01 * (fans[0] * 1 * 3 + fans[1] * 3 * 3)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("measure, charged", [("parameters", True), ("fan_in", False)])
def test_fan_in_measure_charges_only_the_layer_itself(rng, measure, charged):
    import tensorflow as tf

    model = _conv_net(measure)
    first, second = model.get_layer("first"), model.get_layer("second")
    x = rng.normal(size=(2, 8, 8, 1)).astype("float32")
    with tf.GradientTape() as tape:
        model(x, training=True)
        loss = second.losses[0]  # the fc term: 0.01 * 9 * sum(w_second) * sum(w_first)
    grad_first, grad_second = tape.gradient(loss, [first.width_gate, second.width_gate])
    np.testing.assert_allclose(np.asarray(grad_second), np.full(5, 0.01 * 9 * 4), rtol=1e-5)
    if charged:
        np.testing.assert_allclose(np.asarray(grad_first), np.full(4, 0.01 * 9 * 5), rtol=1e-5)
    else:
        assert grad_first is None or not np.any(np.asarray(grad_first))


def test_learn_depth_false_freezes_the_depth_gate():
    layer = ns.TriStateReLU(binarize=0.1, learn_depth=False)
    layer.build((None, 3))
    assert not layer.depth_gate.trainable
    assert layer.width_gate.trainable
    assert [w.name for w in layer.trainable_weights] == ["width_gate"]


def test_new_arguments_round_trip_through_keras_file(tmp_path, rng):
    model = _conv_net("fan_in")
    x = rng.normal(size=(3, 8, 8, 1)).astype("float32")
    model.get_layer("first").width_gate.assign([1.0, 0.4, 0.8, 0.0])
    path = tmp_path / "m.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    config = restored.get_layer("first").get_config()
    assert config["straight_through"] is True
    assert config["complexity_measure"] == "fan_in"
    assert config["learn_depth"] is True
    np.testing.assert_array_equal(np.asarray(restored(x)), np.asarray(model(x)))
    np.testing.assert_allclose(np.asarray(restored(x, training=True)),
                               np.asarray(model(x, training=True)), rtol=1e-6)
    assert float(sum(restored.losses)) == pytest.approx(float(sum(model.losses)), rel=1e-6)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"straight_through": "yes"}, TypeError,
     "TriStateReLU: expected `straight_through` to be a bool. Received: straight_through='yes'"),
    ({"learn_depth": 1}, TypeError, "TriStateReLU: expected `learn_depth` to be a bool."),
    ({"complexity_measure": "weights"}, ValueError, "TriStateReLU: expected "
                                        "`complexity_measure` to be one of 'neurons', "
                                        "'parameters', 'fan_in'."),
])
def test_bad_new_arguments(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        ns.TriStateReLU(**kwargs)


def test_optimizer_for_tri_state_scales_a_schedule():
    schedule = keras.optimizers.schedules.CosineDecay(0.05, 100, alpha=0.01)
    optimizer = recipes.optimizer_for("tri-state", schedule)
    rate = optimizer.learning_rate
    assert float(np.asarray(rate)) == pytest.approx(1e-3, rel=1e-5)
    assert float(recipes.optimizer_for("tri-state", 0.05).learning_rate) == pytest.approx(1e-3)


@pytest.mark.slow
def test_tri_state_recipe_prunes_digits_and_shrinks_exactly():
    data = datasets.load("digits")
    keras.utils.set_random_seed(0)
    inputs = keras.Input(data.input_shape)
    x = L.Flatten()(inputs)
    for name, width in (("fc1", 64), ("fc2", 32)):
        x = L.Dense(width, name=name)(x)
        x = ns.TriStateReLU(name=f"ts_{name}", **recipes.tri_state_kwargs(2e-4))(x)
    model = keras.Model(inputs, L.Dense(10)(x))
    # Adam moves a gate about one learning rate per step: 5e-3 so the gates can cross 0.5.
    steps = 20 * int(np.ceil(len(data.x_train) / 64))
    schedule = keras.optimizers.schedules.CosineDecay(0.25, steps, alpha=0.01)
    model.compile(recipes.optimizer_for("tri-state", schedule),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, batch_size=64, epochs=20, verbose=0)
    kept = [int((model.get_layer(f"ts_{n}").width_gate.numpy() >= 0.5).sum())
            for n in ("fc1", "fc2")]
    assert kept[0] < 64 and kept[1] < 32, kept
    assert min(kept) > 0, kept
    compact = ns.shrink(model)
    assert compact.count_params() < 0.75 * model.count_params()
    trained = model.predict(data.x_test, verbose=0)
    np.testing.assert_allclose(compact.predict(data.x_test, verbose=0), trained, atol=1e-4)
    accuracy = np.mean(np.argmax(trained, -1) == data.y_test)
    assert accuracy > 0.9, accuracy


def test_recipe_linearity_pulls_depth_gates_and_linear_layers_pay_no_complexity(rng):
    assert recipes.tri_state_kwargs(1e-3)["learn_depth"] is False
    kwargs = recipes.tri_state_kwargs(1e-3, linearity=0.01)
    assert kwargs["learn_depth"] is True and kwargs["linearity"] == 0.01
    x = rng.normal(size=(5, 3)).astype("float32")
    inputs = keras.Input((4,))
    hidden = L.Dense(3)(inputs)
    width_only = ns.TriStateReLU(**recipes.tri_state_kwargs(1e-3))
    layer = ns.TriStateReLU(**kwargs)
    keras.Model(inputs, [width_only(hidden), layer(hidden)])
    for gated in (width_only, layer):
        gated.width_gate.assign([0.9, 0.3, 0.6])
        gated.depth_gate.assign(0.2)  # a ReLU
    width_only(x, training=True)
    complexity = float(sum(width_only.losses))
    assert complexity > 0
    layer(x, training=True)
    assert float(sum(layer.losses)) == pytest.approx(complexity + 0.01, rel=1e-6)
    # Straight-through: the linearity term's gradient reaches the depth gate as -linearity.
    _, depth_gradient = _gradients(layer, x, lambda out: 0.0 * keras.ops.sum(out))
    assert float(depth_gradient) == pytest.approx(-0.01, rel=1e-6)
    layer.depth_gate.assign(0.7)  # binarizes to linear: no complexity, no linearity term
    layer(x, training=True)
    assert float(sum(layer.losses)) == 0.0
