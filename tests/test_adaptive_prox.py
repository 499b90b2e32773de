"""ProximalAdam(adaptive_prox=True): the prox in Adam's per-entry metric, checked against NumPy
written from the definition (Adam's first step, then each penalty's prox with its steps)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_neuronselect as ns
from tests.helpers.errors import exactly
from tests.helpers.references import numpy_sparse_group_prox
from tests.helpers.references import numpy_joint_group_prox
from tests.helpers.references import numpy_soft_threshold
from tf_neuronselect.regularizers.unit_group_penalty import joint_group_prox

LR, BETA_2, EPSILON = 0.1, 0.999, 1e-7


def _gated_mlp(penalty, l1):
    x_in = keras.Input((5,))
    x = keras.layers.Dense(4, kernel_regularizer=penalty, name="hidden")(x_in)
    x = ns.Gate(l1=l1, name="gate")(x)
    return keras.Model(x_in, keras.layers.Dense(2, name="head")(x))


def _first_adam_step(model, x, y):
    """Each variable after plain Adam's first step, and Adam's denominator of that step
    (``sqrt(v_hat) + epsilon / sqrt(1 - beta_2)``, with ``v_hat = g**2`` at step one)."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        value = loss(y, model(x))
    gradients = tape.gradient(value, model.trainable_variables)
    stepped, metrics = {}, {}
    for variable, g in zip(model.trainable_variables, gradients):
        g = g.numpy().astype(np.float64)
        metric = np.abs(g) + EPSILON / np.sqrt(1 - BETA_2)
        # Adam's first step: m_hat = g, so the update is lr * g / that denominator.
        stepped[variable.path] = variable.numpy().astype(np.float64) - LR * g / metric
        metrics[variable.path] = metric
    return stepped, metrics


def test_one_adaptive_step_is_adam_then_each_prox_with_adams_steps(rng):
    strength, alpha, l1 = 0.3, 0.5, 0.4
    model = _gated_mlp(ns.SparseGroupLasso(strength, alpha=alpha), l1)
    x, y = rng.normal(size=(16, 5)).astype("float32"), rng.integers(0, 2, 16)
    stepped, metrics = _first_adam_step(model, x, y)
    model.compile(ns.ProximalAdam(LR, adaptive_prox=True, epsilon=EPSILON),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.train_on_batch(x, y)
    # SparseGroupLasso: unit j (kernel column and bias) steps lr / mean of its denominators.
    group = np.concatenate([stepped["hidden/kernel"], stepped["hidden/bias"][None]])
    metric = np.concatenate([metrics["hidden/kernel"], metrics["hidden/bias"][None]])
    expected = np.stack([
        numpy_sparse_group_prox(group[:, [j]], LR / metric[:, j].mean(), alpha, strength, 5)[:, 0]
        for j in range(4)], axis=1)
    np.testing.assert_allclose(model.get_layer("hidden").kernel.numpy(), expected[:-1],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.get_layer("hidden").bias.numpy(), expected[-1],
                               rtol=1e-4, atol=1e-6)
    # L1 on the gate: each theta soft-thresholded by lr * l1 over its own denominator.
    theta = numpy_soft_threshold(stepped["gate/theta"], LR * l1 / metrics["gate/theta"])
    np.testing.assert_allclose(model.get_layer("gate").theta.numpy(), theta, rtol=1e-4,
                               atol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_the_joint_prox_in_a_metric_matches_a_numpy_reference(alpha):
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(5, 4)), rng.normal(size=4)
    metrics = [rng.uniform(0.1, 2.0, size=(5, 4)), rng.uniform(0.1, 2.0, size=4)]
    metrics[0][:, 2] *= 50  # a steep group: a small prox step, it must survive
    ids = [[0, 1, 2, 3], [0, 1, 2, 3]]
    penalties = [ns.UnitGroupPenalty(0.8, alpha, "s", "standard", "incoming", i) for i in ids]
    got = joint_group_prox([keras.ops.convert_to_tensor(v.astype("float32"))
                            for v in (kernel, bias)], penalties, 0.5,
                           [keras.ops.convert_to_tensor(m.astype("float32")) for m in metrics])
    expected = numpy_joint_group_prox([kernel, bias], ids, 0.5, 0.8, alpha, metrics)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(value), reference, rtol=1e-5,
                                   atol=1e-6)
    assert np.any(expected[0][:, 2] != 0)


def test_adaptive_prox_refuses_a_penalty_without_a_metric_step(rng):
    x_in = keras.Input((5,))
    out = keras.layers.Dense(2, kernel_regularizer=ns.DropNeuron(li=0.1), name="d")(x_in)
    model = keras.Model(x_in, out)
    model.compile(ns.ProximalAdam(0.01, adaptive_prox=True), "mse")
    message = ("ProximalAdam(adaptive_prox=True): expected penalties with a prox under Adam's "
               "per-entry steps (L1, GroupLasso, SparseGroupLasso, unit-group penalties). "
               "Received: d/kernel (DropNeuron). How to fix: pass adaptive_prox=False, or "
               "penalize these layers with one of those.")
    with pytest.raises(ValueError, match=exactly(message)):
        model.train_on_batch(rng.normal(size=(4, 5)).astype("float32"), np.zeros((4, 2)))


def test_adaptive_prox_must_be_a_bool():
    with pytest.raises(TypeError, match="ProximalAdam: expected `adaptive_prox`"):
        ns.ProximalAdam(0.01, adaptive_prox="yes")


def test_gates_on_the_mlp_and_a_group_lasso_on_the_heads_train_together(rng):
    """The bench's adaptive-mixed recipe: the head penalty zeroes whole heads in the four
    kernels and leaves the MLP's kernels alone; the gates' L1 closes a gate exactly."""
    inputs = keras.Input((6, 8))
    h = keras.layers.MultiHeadAttention(2, 4, name="att")(inputs, inputs)
    h = keras.layers.Dense(16, activation="relu", name="mlp1")(keras.layers.Add()([inputs, h]))
    model = keras.Model(inputs, keras.layers.Dense(3, name="mlp2")(
        keras.layers.GlobalAveragePooling1D()(h)))
    gated, gates = ns.add_gates(model, l1=1e3)
    assert set(gates.values()) == {"mlp1"}
    assert ns.add_penalty(gated, ns.GroupLasso(1e3), layers=["att"],
                          over="unit_groups") == ["att"]
    gated.compile(ns.ProximalAdam(0.1, adaptive_prox=True),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    gated.train_on_batch(rng.normal(size=(8, 6, 8)), rng.integers(0, 3, 8))
    kernels = [w for w in gated.get_layer("att").weights if w.path.endswith("kernel")]
    assert len(kernels) == 4 and not any(np.any(k.numpy()) for k in kernels)
    assert np.all(gated.get_layer("mlp1_gate").theta.numpy() <= 0)
    assert np.all(gated.get_layer("mlp1").kernel.numpy() != 0)
