"""Attention heads: dead heads go, grouped-query attention keeps key/value groups whole, and
transformer blocks (pre- and post-norm, encoder-decoder) shrink to the same function."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.checks import assert_equivalent
from tests.helpers.unit_groups import zero_unit_groups
from tests.helpers.weights import weights_by_path, zero_entries

L = keras.layers


def kill_heads(layer, value_heads=(), output_heads=()):
    """Zeroes the value slices (kernel and bias) of ``value_heads`` (key/value heads for
    grouped-query attention) and the output rows of ``output_heads`` (query heads)."""
    weights = weights_by_path(layer)
    for head in value_heads:
        zero_entries(weights["value/kernel"], (slice(None), head))
        zero_entries(weights["value/bias"], head)
    for head in output_heads:
        zero_entries(weights["attention_output/kernel"], head)


def transformer(pre_norm=True, blocks=2, width=16, heads=4, grouped=False):
    x = keras.Input((6, 10))
    h = L.Dense(width, name="embed")(x)
    for b in range(blocks):
        y = L.LayerNormalization(name=f"ln{b}a")(h) if pre_norm else h
        attention = L.GroupQueryAttention(4, heads, heads // 2, name=f"att{b}") if grouped \
            else L.MultiHeadAttention(heads, 4, name=f"att{b}")
        h = L.Add(name=f"res{b}a")([h, attention(y, y)])
        h = h if pre_norm else L.LayerNormalization(name=f"ln{b}a")(h)
        y = L.LayerNormalization(name=f"ln{b}b")(h) if pre_norm else h
        y = L.Dense(2 * width, name=f"mlp{b}b")(L.Dense(3 * width, activation="gelu",
                                                        name=f"mlp{b}a")(y))
        y = L.Dense(width, name=f"mlp{b}c")(y)
        h = L.Add(name=f"res{b}b")([h, y])
        h = h if pre_norm else L.LayerNormalization(name=f"ln{b}b")(h)
    return keras.Model(x, L.Dense(3, name="head")(L.GlobalAveragePooling1D(name="pool")(h)))


def encoder_decoder():
    source, target = keras.Input((7, 8), name="source"), keras.Input((5, 8), name="target")
    memory = L.LayerNormalization(name="enc_ln")(L.Dense(12, name="enc")(source))
    h = L.Dense(12, name="dec")(target)
    h = L.Add(name="self_res")([h, L.MultiHeadAttention(3, 4, name="self_att")(h, h)])
    h = L.LayerNormalization(name="dec_ln")(h)
    h = L.Add(name="cross_res")([h, L.MultiHeadAttention(4, 3, name="cross_att")(h, memory)])
    return keras.Model([source, target], L.Dense(2, name="head")(h))


@pytest.mark.parametrize("pre_norm", [True, False])
@pytest.mark.parametrize("grouped", [False, True])
def test_transformer_blocks_shrink_exactly(pre_norm, grouped):
    rng = np.random.default_rng(0)
    model = transformer(pre_norm, grouped=grouped)
    kill_heads(model.get_layer("att0"), value_heads=[1])
    kill_heads(model.get_layer("att1"), output_heads=[0, 1] if grouped else [3])
    zero_unit_groups(model, 0.4, rng)  # MLP neurons (the residual stream is pinned)
    plan = ns.make_plan(model)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(3, 6, 10)).astype("float32"))
    assert shrunk.count_params() == plan.params_after < model.count_params()
    alive = alive_heads(model.get_layer("att0"), 2 if grouped else 1)
    if not alive:  # the random kills took its last head: the branch went with it
        assert "att0" not in [layer.name for layer in shrunk.layers]
    elif grouped:  # key/value head 1 (query heads 2 and 3) went
        assert shrunk.get_layer("att0").num_key_value_heads == len(alive) == 1
        assert shrunk.get_layer("att0").num_query_heads == 2
    else:
        assert shrunk.get_layer("att0").num_heads == len(alive) <= 3


def alive_heads(layer, shared):
    """Key/value heads whose value slices and (some of their query heads') output rows are not
    all zero, read from the weights with NumPy."""
    weights = {path: keras.ops.convert_to_numpy(w) for path, w in weights_by_path(layer).items()}
    value, bias = weights["value/kernel"], weights["value/bias"]
    output = weights["attention_output/kernel"]
    return [h for h in range(value.shape[1])
            if (np.any(value[:, h]) or np.any(bias[h]))
            and np.any(output[h * shared:(h + 1) * shared])]


def test_a_grouped_query_head_goes_only_with_all_its_query_heads():
    model = transformer(grouped=True)
    kill_heads(model.get_layer("att0"), output_heads=[0])  # query head 0 of key/value head 0
    assert ns.make_plan(model).layers["att0"].keep_units.tolist() == [0, 1]
    kill_heads(model.get_layer("att0"), output_heads=[1])  # now both of its query heads
    assert ns.make_plan(model).layers["att0"].keep_units.tolist() == [1]


def test_cross_attention_heads_go_too():
    rng = np.random.default_rng(1)
    model = encoder_decoder()
    kill_heads(model.get_layer("cross_att"), value_heads=[0, 2])
    kill_heads(model.get_layer("self_att"), output_heads=[1])
    shrunk = ns.shrink(model)
    inputs = [rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 5, 8))]
    assert_equivalent(model, shrunk, inputs)
    assert shrunk.get_layer("cross_att").num_heads == 2
    assert shrunk.get_layer("self_att").num_heads == 2
    report = ns.report(model)
    line = next(r for r in report.layers if r.name == "cross_att")
    assert (line.units, line.kept, line.reasons) == (4, 2, {"zero value group": 2})


def test_head_groups_span_query_key_value_and_output_rows():
    groups = {g.name: g for g in ns.unit_groups(transformer(grouped=True))}
    group = groups["att1.heads[1]"]  # key/value head 1 serves query heads 2 and 3
    described = sorted(f"{s.weight}{list(s.units)}:{s.role}" for s in group.slices)
    assert described == sorted([
        "query/kernel[2, 3]:produces", "query/bias[2, 3]:produces", "key/kernel[1]:produces",
        "key/bias[1]:produces", "value/kernel[1]:produces", "value/bias[1]:produces",
        "attention_output/kernel[2, 3]:carries"])
    assert group.channels == {} and not group.pinned


@pytest.mark.slow
def test_a_head_penalty_kills_heads_and_the_model_shrinks_exactly():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6, 10)).astype("float32")
    y = np.stack([x[:, :, :3].mean(axis=(1, 2)), x[:, 0, 3], x[:, -1, 4]], axis=1)
    model = transformer()
    names = ns.add_penalty(model, ns.GroupLasso(2.0), over="unit_groups")
    assert {"att0", "att1", "mlp0a", "mlp1a"} <= set(names)
    model.compile(ns.ProximalAdam(3e-3), "mse")
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    plan = ns.make_plan(model)
    assert sum(plan.layers[f"att{b}"].dead for b in (0, 1)) > 0
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, x[:8])
    assert shrunk.count_params() == plan.params_after < model.count_params()


def test_removal_points_see_heads_die():
    # fit_with_shrinking plans only when this signature changes: a head killed by a penalty
    # (zero value slices or output rows) must change it, or the head is never removed.
    from tf_neuronselect.selection.dead import dead_counts

    model = transformer(grouped=False)
    layer = model.get_layer("att0")
    assert dead_counts(layer) == (0,)
    kill_heads(layer, value_heads=(1,))
    assert dead_counts(layer) == (1,)
    kill_heads(layer, output_heads=(3,))
    assert dead_counts(layer) == (2,)
