"""Penalty values, argument validation and serialization."""

import math

import keras
import numpy as np
import pytest

import tf_neuronselect as ns

# Constructor arguments that differ from the defaults, so a round trip that drops or resets
# one of them shows.
PENALTIES = {
    "l1": (ns.L1, {"strength": 0.3}),
    "group_lasso": (ns.GroupLasso, {"strength": 0.2, "layout": "depthwise",
                                    "include_bias": False}),
    "group_lasso_outgoing": (ns.GroupLasso, {"strength": 0.2, "groups": "outgoing",
                                             "scale_by_group_size": False}),
    "sparse_group_lasso": (ns.SparseGroupLasso, {"strength": 0.2, "alpha": 0.5,
                                                 "layout": "transposed"}),
    "drop_neuron": (ns.DropNeuron, {"li": 0.1, "lo": 0.2, "l1": 1e-3, "l2": 1e-2,
                                    "layout": "transposed"}),
    "binarizing": (ns.Binarizing, {"strength": 0.5}),
}


def test_group_lasso_value_is_strength_sqrt_p_sum_of_column_norms(rng):
    w = rng.normal(size=(6, 4)).astype("float32")
    expected = 0.2 * math.sqrt(6) * np.linalg.norm(w, axis=0).sum()
    assert float(ns.GroupLasso(0.2)(w)) == pytest.approx(expected, rel=1e-5)


def test_outgoing_groups_are_rows(rng):
    w = rng.normal(size=(6, 4)).astype("float32")
    expected = 0.2 * np.linalg.norm(w, axis=1).sum()
    penalty = ns.GroupLasso(0.2, groups="outgoing", scale_by_group_size=False)
    assert float(penalty(w)) == pytest.approx(expected, rel=1e-5)


def test_sparse_group_lasso_mixes_group_and_l1(rng):
    w = rng.normal(size=(3, 3, 5, 4)).astype("float32")
    columns = w.reshape(-1, 4)
    group = math.sqrt(45) * np.linalg.norm(columns, axis=0).sum()
    expected = 0.1 * (0.75 * group + 0.25 * np.abs(w).sum())
    assert float(ns.SparseGroupLasso(0.1, alpha=0.25)(w)) == pytest.approx(expected, rel=1e-5)


def test_drop_neuron_li_lo_l1_l2(rng):
    w = rng.normal(size=(5, 3)).astype("float32")
    expected = (0.1 * np.linalg.norm(w, axis=0).sum() + 0.2 * np.linalg.norm(w, axis=1).sum()
                + 0.01 * np.abs(w).sum() + 0.03 * np.square(w).sum())
    value = ns.DropNeuron(li=0.1, lo=0.2, l1=0.01, l2=0.03)(w)
    assert float(value) == pytest.approx(expected, rel=1e-5)


def test_binarizing_penalty(rng):
    w = rng.uniform(size=(7,)).astype("float32")
    assert float(ns.Binarizing(0.5)(w)) == pytest.approx(0.5 * np.sum(w * (1 - w)), rel=1e-5)


def test_handled_proximally_keeps_only_the_smooth_part(rng):
    w = rng.normal(size=(5, 3)).astype("float32")
    penalty = ns.DropNeuron(li=0.1, l2=0.03)
    penalty.handled_proximally = True
    assert float(penalty(w)) == pytest.approx(0.03 * np.square(w).sum(), rel=1e-5)


def test_penalty_gradient_is_finite_at_exactly_zero_groups():
    import tensorflow as tf  # test-only: autodiff check on the TF backend

    w = tf.Variable(np.zeros((4, 3), "float32"))
    with tf.GradientTape() as tape:
        value = ns.GroupLasso(0.1)(w) + ns.DropNeuron(li=0.1, lo=0.1)(w)
    assert np.all(np.isfinite(tape.gradient(value, w).numpy()))


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_config_round_trip_keeps_the_constructor_arguments(name):
    cls, arguments = PENALTIES[name]
    penalty = cls(**arguments)
    serialized = keras.regularizers.serialize(penalty)
    assert serialized["registered_name"] == f"tf_neuronselect>{cls.__name__}"
    copies = {"original": penalty, "from_config": cls.from_config(penalty.get_config()),
              "deserialize": keras.regularizers.deserialize(serialized)}
    for how, copy in copies.items():
        assert type(copy) is cls, how
        assert {key: copy.get_config().get(key, "missing") for key in arguments} == arguments, how
        assert {key: getattr(copy, key) for key in arguments} == arguments, how


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ns.GroupLasso(-1.0),
         "GroupLasso: expected `strength` to be a finite float >= 0. Received: strength=-1.0."),
        (lambda: ns.GroupLasso(float("nan")),
         "GroupLasso: expected `strength` to be a finite float >= 0. Received: strength=nan."),
        (lambda: ns.SparseGroupLasso(0.1, alpha=1.5),
         "SparseGroupLasso: expected `alpha` to be in [0, 1]. Received: alpha=1.5."),
        (lambda: ns.SparseGroupLasso(0.1, alpha=-0.1),
         "SparseGroupLasso: expected `alpha` to be a finite float >= 0. Received: alpha=-0.1."),
        (lambda: ns.GroupLasso(0.1, groups="columns"),
         "GroupLasso: expected `groups` to be one of 'incoming', 'outgoing'. "
         "Received: groups='columns'."),
        (lambda: ns.GroupLasso(0.1, groups="outgoing", include_bias=True),
         "GroupLasso: include_bias=True needs groups='incoming'"),
        (lambda: ns.DropNeuron(li=float("inf")),
         "DropNeuron: expected `li` to be a finite float >= 0. Received: li=inf."),
        (lambda: ns.L1(-0.5), "L1: expected `strength` to be a finite float >= 0."),
        (lambda: ns.Gate(l1=-1), "Gate: expected `l1` to be a finite float >= 0."),
        (lambda: ns.TriStateReLU(binarize=float("nan")),
         "TriStateReLU: expected `binarize` to be a finite float >= 0."),
    ],
)
def test_bad_hyperparameters_raise_value_error_naming_the_argument(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value).startswith(message)


def test_non_numeric_strength_is_a_type_error():
    with pytest.raises(TypeError, match=r"expected `strength` to be a non-negative float. "
                                        r"Received: strength='big' of type str"):
        ns.GroupLasso("big")


def test_add_penalty_uses_each_layers_layout():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = keras.layers.Conv2DTranspose(5, 3, name="up")(x)
    x = keras.layers.SeparableConv2D(6, 3, name="sep")(x)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    names = ns.add_penalty(model, ns.GroupLasso(0.1))
    assert names == ["conv", "dw", "up", "sep"]
    layouts = {
        "conv": model.get_layer("conv").kernel.regularizer.layout,
        "dw": model.get_layer("dw").kernel.regularizer.layout,
        "up": model.get_layer("up").kernel.regularizer.layout,
        "sep": model.get_layer("sep").pointwise_kernel.regularizer.layout,
    }
    assert layouts == {"conv": "standard", "dw": "depthwise", "up": "transposed", "sep": "standard"}
    restored = keras.Model.from_config(model.get_config())
    assert restored.get_layer("up").kernel_regularizer.layout == "transposed"


def test_add_penalty_refuses_a_layer_it_cannot_group():
    inputs = keras.Input((4, 6, 3))
    x = keras.layers.ConvLSTM1D(5, 3, name="rnn")(inputs)
    model = keras.Model(inputs, x)
    with pytest.raises(ValueError, match="Layer 'rnn' of type ConvLSTM1D has no known per-unit "
                                         "grouping"):
        ns.add_penalty(model, ns.GroupLasso(0.1), layers=["rnn"])
