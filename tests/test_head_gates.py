"""Per-head gates: ``GatedMultiHeadAttention`` multiplies head h by ``max(0, theta_h)``, the
proximal optimizers close gates exactly, and ``shrink`` rebuilds a stock MultiHeadAttention
with the open heads (their factors folded into the output rows)."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.checks import assert_equivalent
from tests.helpers.checks import assert_stock_only
from tf_neuronselect.layers import gating

L = keras.layers
WIDTH, HEADS, KEY_DIM = 12, 4, 3


def block(causal=False):
    """embed -> self-attention (residual) -> head, with stock layers."""
    x = keras.Input((6, 8))
    h = L.Dense(WIDTH, name="embed")(x)
    attention = L.MultiHeadAttention(HEADS, KEY_DIM, name="att")(h, h, use_causal_mask=causal)
    h = L.Add(name="res")([h, attention])
    return keras.Model(x, L.Dense(2, name="head")(h))


def numpy_attention(layer, query, value, gates):
    """Multi-head attention in NumPy (no mask), head h's output times ``gates[h]``."""
    w = {v.path.split("/", 1)[1]: keras.ops.convert_to_numpy(v) for v in layer.weights}
    q = np.einsum("btd,dnk->btnk", query, w["query/kernel"]) + w["query/bias"]
    k = np.einsum("bsd,dnk->bsnk", value, w["key/kernel"]) + w["key/bias"]
    v = np.einsum("bsd,dnk->bsnk", value, w["value/kernel"]) + w["value/bias"]
    scores = np.einsum("btnk,bsnk->bnts", q, k) / np.sqrt(q.shape[-1])
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    heads = np.einsum("bnts,bsnk->btnk", scores, v) * gates[:, None]
    return np.einsum("btnk,nkd->btd", heads, w["attention_output/kernel"]) \
        + w["attention_output/bias"]


def _close(layer, theta):
    layer.theta.assign(np.asarray(theta, "float32"))


def _inputs(seed=1, batch=3):
    return np.random.default_rng(seed).normal(size=(batch, 6, 8)).astype("float32")


@pytest.mark.parametrize("causal", [False, True])
def test_open_gates_compute_what_the_stock_layer_computes(causal):
    model = block(causal)
    gated, gates = ns.add_gates(model, l1=1e-3, heads=True)
    layer = gated.get_layer("att")
    assert isinstance(layer, ns.GatedMultiHeadAttention) and gates["att"] == "att"
    assert layer.l1 == 1e-3 and np.all(keras.ops.convert_to_numpy(layer.theta) == 1.0)
    assert type(model.get_layer("att")) is L.MultiHeadAttention  # the original is a copy
    assert_equivalent(model, gated, _inputs())


def test_head_h_is_multiplied_by_relu_theta_h():
    layer = ns.GatedMultiHeadAttention(HEADS, KEY_DIM, l1=0.1, bias_initializer="normal")
    query, value = _inputs(2), _inputs(3)[:, :5]
    layer(query, value)
    theta = np.array([1.5, -0.2, 0.0, 0.7], "float32")
    _close(layer, theta)
    expected = numpy_attention(layer, query, value, np.maximum(theta, 0))
    np.testing.assert_allclose(np.asarray(layer(query, value)), expected, rtol=1e-4, atol=1e-5)
    assert float(layer.losses[0]) == pytest.approx(0.1 * np.abs(theta).sum())


def _param_count(heads, width=WIDTH, key_dim=KEY_DIM):
    projections = 3 * (width * heads * key_dim + heads * key_dim)
    return projections + heads * key_dim * width + width


def test_closed_gates_shrink_to_a_stock_layer_with_the_open_heads(tmp_path):
    gated, _ = ns.add_gates(block(), heads=True)
    _close(gated.get_layer("att"), np.float32([0.7, 0.0, -0.3, 1.4]))
    x = _inputs()
    assert not np.allclose(np.asarray(block()(x)), np.asarray(gated(x)))  # the gates act
    shrunk = ns.shrink(gated)
    assert_equivalent(gated, shrunk, x)
    assert_stock_only(shrunk)
    assert type(shrunk.get_layer("att")) is L.MultiHeadAttention
    assert shrunk.get_layer("att").num_heads == 2
    embed, head = 8 * WIDTH + WIDTH, WIDTH * 2 + 2
    assert shrunk.count_params() == embed + _param_count(2) + head == 452
    assert ns.make_plan(gated).params_after == shrunk.count_params()
    shrunk.save(tmp_path / "shrunk.keras")
    restored = keras.models.load_model(tmp_path / "shrunk.keras")
    np.testing.assert_array_equal(np.asarray(restored(x)), np.asarray(shrunk(x)))


def test_open_gates_fold_even_when_no_head_closes():
    gated, _ = ns.add_gates(block(), heads=True)
    _close(gated.get_layer("att"), [0.5, 2.0, 1.0, 0.25])
    shrunk = ns.shrink(gated)
    assert type(shrunk.get_layer("att")) is L.MultiHeadAttention
    assert shrunk.get_layer("att").num_heads == HEADS
    assert_equivalent(gated, shrunk, _inputs())


def test_keep_training_layers_keeps_a_narrower_gated_layer():
    gated, _ = ns.add_gates(block(), l1=0.01, heads=True)
    _close(gated.get_layer("att"), np.float32([0.7, 0.0, -0.3, 1.4]))
    kept = ns.shrink(gated, keep_training_layers=True)
    layer = kept.get_layer("att")
    assert isinstance(layer, ns.GatedMultiHeadAttention) and layer.l1 == 0.01
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.theta),
                                  np.float32([0.7, 1.4]))
    assert_equivalent(gated, kept, _inputs())
    assert kept.count_params() == ns.make_plan(gated).params_after + 2  # the two open gates


def test_report_names_the_closed_gate_rule():
    gated, _ = ns.add_gates(block(), heads=True)
    layer = gated.get_layer("att")
    _close(layer, [0.0, 1.0, -2.0, 1.0])
    value = layer.value_dense.kernel  # head 1: zero value group, gate open
    value.assign(np.where(np.arange(HEADS)[None, :, None] == 1, 0.0,
                          keras.ops.convert_to_numpy(value)))
    line = next(r for r in ns.report(gated).layers if r.name == "att")
    assert (line.units, line.kept) == (4, 1)
    assert line.reasons == {"gate <= 0": 2, "zero value group": 1}
    assert gating.closed_heads(layer).tolist() == [True, False, True, False]


def _one_step(l1, x, y, learning_rate=0.1, multiplier=1.0):
    gated, _ = ns.add_gates(block(), l1=l1, heads=True)
    if multiplier != 1.0:
        weights = gated.get_weights()
        gated = keras.Model.from_config(_with_multiplier(gated.get_config(), multiplier))
        gated.set_weights(weights)
    gated.compile(ns.ProximalSGD(learning_rate), "mse")
    gated.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return keras.ops.convert_to_numpy(gated.get_layer("att").theta)


def test_a_proximal_step_soft_thresholds_theta_and_a_large_l1_closes_it_exactly():
    keras.utils.set_random_seed(0)
    x, y = _inputs(4, batch=8), np.random.default_rng(5).normal(size=(8, 6, 2))
    keras.utils.set_random_seed(0)
    plain = _one_step(0.0, x, y)
    keras.utils.set_random_seed(0)
    small = _one_step(0.05, x, y)  # threshold 0.1 * 0.05 = 0.005
    expected = np.sign(plain) * np.maximum(np.abs(plain) - 0.005, 0.0)
    np.testing.assert_allclose(small, expected, rtol=1e-5)
    keras.utils.set_random_seed(0)
    assert np.all(_one_step(100.0, x, y) == 0.0)  # threshold 10: every gate exactly closed


def _with_multiplier(config, multiplier):
    for layer in config["layers"]:
        if layer["class_name"] == "GatedMultiHeadAttention":
            layer["config"]["learning_rate_multiplier"] = multiplier
    return config


def test_the_multiplier_is_a_learning_rate_for_the_gates_alone():
    x, y = _inputs(4, batch=8), np.random.default_rng(5).normal(size=(8, 6, 2))
    keras.utils.set_random_seed(0)
    scaled = _one_step(0.05, x, y, learning_rate=0.01, multiplier=10.0)
    keras.utils.set_random_seed(0)
    np.testing.assert_allclose(scaled, _one_step(0.05, x, y, learning_rate=0.1), rtol=1e-5)


def test_head_group_penalties_leave_the_gates_their_l1():
    gated, _ = ns.add_gates(block(), l1=0.01, heads=True)
    assert "att" in ns.add_penalty(gated, ns.GroupLasso(1e-3), over="unit_groups")
    layer = gated.get_layer("att")
    assert isinstance(layer.theta.regularizer, ns.L1)
    assert layer.theta.regularizer.strength == 0.01


def test_gated_model_and_config_round_trip(tmp_path):
    gated, _ = ns.add_gates(block(), heads=True)
    layer = gated.get_layer("att")
    _close(layer, np.float32([0.7, 0.0, -0.3, 1.4]))
    config = ns.GatedMultiHeadAttention(
        2, 3, l1=0.02, learning_rate_multiplier=50.0, name="g").get_config()
    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(
        ns.GatedMultiHeadAttention.from_config(config)))
    assert copy.get_config() == config and (copy.l1, copy.learning_rate_multiplier) == (0.02, 50)
    gated.save(tmp_path / "gated.keras")
    restored = keras.models.load_model(tmp_path / "gated.keras")
    assert type(restored.get_layer("att")) is ns.GatedMultiHeadAttention
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored.get_layer("att").theta),
                                  np.float32([0.7, 0.0, -0.3, 1.4]))
    np.testing.assert_array_equal(np.asarray(restored(_inputs())), np.asarray(gated(_inputs())))
    layer = ns.GatedMultiHeadAttention(2, 3, l1=0.02, learning_rate_multiplier=50.0)
    layer(_inputs(), _inputs())
    assert layer.theta.regularizer.strength == pytest.approx(1.0)  # l1 * multiplier


def test_grouped_query_attention_gets_no_head_gates():
    x = keras.Input((6, 8))
    h = L.GroupQueryAttention(3, 4, 2, name="gqa")(x, x)
    gated, gates = ns.add_gates(keras.Model(x, L.Dense(2, name="head")(h)), heads=True)
    assert type(gated.get_layer("gqa")) is L.GroupQueryAttention and "gqa" not in gates


@pytest.mark.parametrize("kwargs, error, message", [
    ({"l1": -1.0}, ValueError,
     "GatedMultiHeadAttention: expected `l1` to be a finite float >= 0. Received: l1=-1.0. "
     "Pass a value such as l1=1e-3 (0 disables this term)."),
    ({"l1": "big"}, TypeError,
     "GatedMultiHeadAttention: expected `l1` to be a non-negative float. Received: l1='big' "
     "of type str. Pass a Python number such as l1=1e-3."),
    ({"learning_rate_multiplier": 0}, ValueError,
     "GatedMultiHeadAttention: expected `learning_rate_multiplier` to be a float > 0. "
     "Received: learning_rate_multiplier=0.0. How to fix: pass e.g. "
     "learning_rate_multiplier=100.0."),
    ({"use_gate": True}, ValueError,
     "GatedMultiHeadAttention: expected use_gate=False. Received: use_gate=True. How to fix: "
     "drop use_gate; Keras's gate projection mixes the heads' channels, so heads under it "
     "cannot be removed."),
])
def test_bad_layer_arguments_are_refused_by_name(kwargs, error, message):
    with pytest.raises(error) as info:
        ns.GatedMultiHeadAttention(2, 3, **kwargs)
    assert str(info.value) == message


def test_bad_add_gates_and_head_scale_arguments_are_refused_by_name():
    with pytest.raises(TypeError) as info:
        ns.add_gates(block(), heads="yes")
    assert str(info.value) == (
        "add_gates: expected `heads` to be a bool. Received: heads='yes' of type str. "
        "How to fix: pass heads=True or heads=False.")
    with pytest.raises(TypeError) as info:
        gating.head_scale(L.Dense(2, name="d"))
    assert str(info.value) == (
        "Expected a GatedMultiHeadAttention layer. Received: Dense 'd'. How to fix: pass a "
        "layer made by tf_neuronselect.GatedMultiHeadAttention or add_gates(model, "
        "heads=True).")


def test_fit_with_shrinking_removes_heads_whose_gates_closed():
    gated, _ = ns.add_gates(block(), heads=True)
    _close(gated.get_layer("att"), [0.7, 0.0, -0.3, 1.4])
    x = _inputs(4, batch=8)
    before = np.asarray(gated(x))
    gated.compile(ns.ProximalSGD(1e-9), "mse")  # closed gates get no gradient: they stay
    model, history = ns.fit_with_shrinking(gated, x, np.zeros((8, 6, 2)), epochs=1,
                                           batch_size=8, verbose=0)
    layer = model.get_layer("att")
    assert isinstance(layer, ns.GatedMultiHeadAttention) and layer.num_heads == 2
    assert history.shrinks[0]["units"] == {"att": (4, 2)}
    np.testing.assert_allclose(np.asarray(model(x)), before, rtol=1e-5, atol=1e-5)
