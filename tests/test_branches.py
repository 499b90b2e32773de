"""Depth from width: a residual branch whose every head or neuron is dead adds a constant, so
``shrink`` replaces it by that constant and its layers go (pre- and post-norm transformers, a
ResNet block whose last BatchNorm has gamma 0, Add layers and ``+``)."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.checks import assert_equivalent
from tests.test_attention import kill_heads
from tests.test_attention import transformer
from tests.helpers.weights import weights_by_path

L = keras.layers


def zero_layer(layer):
    for weight in layer.weights:
        weight.assign(np.zeros(weight.shape, "float32"))


def names(model):
    return {layer.name for layer in model.layers}


def weight_count(model, layer_names):
    """Parameters of ``layer_names``, from their weight shapes."""
    return sum(int(np.prod(w.shape)) for n in layer_names for w in model.get_layer(n).weights)


@pytest.mark.parametrize("pre_norm", [True, False])
def test_a_transformer_loses_its_dead_attention_and_mlp_branches(pre_norm):
    rng = np.random.default_rng(0)
    model = transformer(pre_norm)
    kill_heads(model.get_layer("att0"), value_heads=[0, 1, 2, 3])
    zero_layer(model.get_layer("mlp1a"))  # every neuron: gelu(0) = 0, the MLP adds a constant
    gone = {"att0", "mlp1a", "mlp1b", "mlp1c"} | ({"ln0a", "ln1b"} if pre_norm else set())
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(3, 6, 10)).astype("float32"))
    # the two residual Adds become additions of a constant (a keras.ops call, not a layer)
    assert names(shrunk) == names(model) - gone - {"res0a", "res1b"}
    plan = ns.make_plan(model)
    assert {n for n, p in plan.layers.items() if p.action == "drop"} == gone
    assert shrunk.count_params() == plan.params_after == \
        model.count_params() - weight_count(model, gone)
    dropped = "ln0a, att0" if pre_norm else "att0"
    assert f"  {dropped}: dropped, their branch into 'res0a' no longer depends on the input " \
        "(added as a constant)" in str(ns.report(model)).splitlines()


def test_drop_branches_false_keeps_them_at_width_one():
    model = transformer()
    kill_heads(model.get_layer("att0"), value_heads=[0, 1, 2, 3])
    kept = ns.shrink(model, drop_branches=False)
    assert kept.get_layer("att0").num_heads == 1
    with pytest.raises(TypeError, match="drop_branches"):
        ns.shrink(model, drop_branches="yes")


def residual_block(operator_add, length=None):
    x = keras.Input((length or 6, 5) if length != "unknown" else (None, 5))
    h = L.Conv1D(8, 1, name="stem")(x)
    y = L.Conv1D(8, 3, padding="same", activation="relu", name="conv1")(h)
    y = L.BatchNormalization(name="bn")(L.Conv1D(8, 3, padding="same", name="conv2")(y))
    h = h + y if operator_add else L.Add(name="res")([h, y])
    return keras.Model(x, L.Dense(2, name="head")(L.ReLU(name="out_relu")(h)))


@pytest.mark.parametrize("operator_add", [False, True])
def test_a_resnet_block_whose_batchnorm_gamma_is_zero_goes(operator_add):
    rng = np.random.default_rng(1)
    model = residual_block(operator_add)
    bn = model.get_layer("bn")
    bn.set_weights([np.zeros(8), rng.normal(size=8), rng.normal(size=8), np.ones(8) + 1])
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(4, 6, 5)).astype("float32"))
    assert not {"conv1", "conv2", "bn"} & names(shrunk)
    # what is left is stem -> (+ beta) -> relu -> head: NumPy computes it from the weights
    x = rng.normal(size=(4, 6, 5)).astype("float32")
    kernel, bias = model.get_layer("stem").get_weights()
    stream = np.maximum(x @ kernel[0] + bias + bn.get_weights()[1], 0.0)
    head_kernel, head_bias = model.get_layer("head").get_weights()
    np.testing.assert_allclose(shrunk(x), stream @ head_kernel + head_bias, rtol=1e-5,
                               atol=1e-5)


def constant_into_same_padding(length):
    """A dead Dense (bias 1) read by a 'same'-padded Conv1D: a branch that does not depend on
    the input but whose value differs at the borders."""
    x = keras.Input((length, 4))
    y = L.Dense(4, name="dead")(x)
    y = L.Conv1D(4, 3, padding="same", name="conv")(y)
    model = keras.Model(x, L.Dense(2, name="head")(L.Add(name="res")([x, y])))
    dead = model.get_layer("dead")
    dead.set_weights([np.zeros((4, 4)), np.ones(4)])
    return model


def test_a_constant_that_varies_along_a_known_axis_is_added_whole():
    rng = np.random.default_rng(2)
    model = constant_into_same_padding(7)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(3, 7, 4)).astype("float32"))
    assert not {"dead", "conv"} & names(shrunk)


def test_a_constant_that_varies_along_an_unknown_axis_keeps_its_branch():
    rng = np.random.default_rng(3)
    model = constant_into_same_padding(None)
    plan = ns.make_plan(model)
    assert any("varies along an axis of unknown length" in n for n in plan.layers["res"].notes)
    shrunk = ns.shrink(model)
    assert "conv" in names(shrunk)
    for length in (5, 9):
        assert_equivalent(model, shrunk, rng.normal(size=(2, length, 4)).astype("float32"))


def test_a_shrunk_model_without_branches_saves_loads_and_shrinks_again(tmp_path):
    rng = np.random.default_rng(4)
    model = transformer()
    kill_heads(model.get_layer("att1"), output_heads=[0, 1, 2, 3])
    bias = weights_by_path(model.get_layer("att1"))["attention_output/bias"]
    bias.assign(rng.normal(size=bias.shape).astype("float32"))  # the constant the Add keeps
    shrunk = ns.shrink(model)
    assert "att1" not in names(shrunk)
    shrunk.save(tmp_path / "shrunk.keras")
    loaded = keras.models.load_model(tmp_path / "shrunk.keras")
    x = rng.normal(size=(2, 6, 10)).astype("float32")
    assert_equivalent(model, loaded, x)
    assert_equivalent(model, ns.shrink(loaded), x)


def test_a_branch_whose_gates_are_all_closed_goes_while_training():
    model = transformer()
    gated, gates = ns.add_gates(model, l1=1e-3)
    assert gates["mlp0a_gate"] == "mlp0a"
    layer = gated.get_layer("mlp0a_gate")
    layer.set_weights([np.full(w.shape, -1.0) for w in layer.get_weights()])
    smaller = ns.shrink(gated, keep_training_layers=True)
    assert not {"mlp0a", "mlp0b", "mlp0c"} & names(smaller)
    x = np.random.default_rng(5).normal(size=(4, 6, 10)).astype("float32")
    assert_equivalent(gated, smaller, x)
    smaller.compile("sgd", "mse")
    smaller.fit(x, np.zeros((4, 3)), verbose=0)


def test_fit_with_shrinking_drops_a_branch_whose_gates_closed_and_records_it():
    model = transformer()
    gated, _ = ns.add_gates(model, l1=1e-3)
    gate = gated.get_layer("mlp0a_gate")
    gate.set_weights([np.full(w.shape, -1.0) for w in gate.get_weights()])
    gated.compile(ns.ProximalSGD(1e-3), "mse")
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(16, 6, 10)).astype("float32"), np.zeros((16, 3), "float32")
    smaller, history = ns.fit_with_shrinking(gated, x, y, epochs=1, verbose=0)
    assert not {"mlp0a", "mlp0b", "mlp0c"} & names(smaller)
    # mlp0a has 48 units, mlp0b 32 and mlp0c 16 (transformer's width 16): none is kept
    units = history.shrinks[0]["units"]
    assert (units["mlp0a"], units["mlp0b"], units["mlp0c"]) == ((48, 0), (32, 0), (16, 0))
