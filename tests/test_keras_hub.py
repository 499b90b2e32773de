"""KerasHub backbones: BERT's and GPT-2's blocks lose dead heads and feed-forward neurons
exactly (a block that loses heads becomes a HeadPrunedTransformerEncoder / ...Decoder, which
saves, loads and shrinks again), Gemma's blocks lose dead heads and neurons, ViT's blocks lose
dead heads and MLP neurons (its encoder read through, its patching and blocks rebuilt as
stand-ins that save and load), and KerasHub's layers are registered only when met."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly
from tests.helpers.weights import weights_by_path, zero_entries

keras_hub = pytest.importorskip("keras_hub")
from tf_neuronselect.layers import hub_blocks  # noqa: E402 (imports keras_hub)

L = keras.layers
HIDDEN = 32
KILLED = {  # block -> (neurons with a zero column and bias, neurons with a zero output row)
    "transformer_layer_0": ([1, 5], [7, 9, 11]),
    "transformer_layer_1": ([63], [0]),
}


def kill_neurons(block, incoming=(), outgoing=()):
    """Zeroes the intermediate Dense's column and bias of ``incoming`` neurons and the output
    Dense's row of ``outgoing`` neurons (the block's own weights, by path)."""
    weights = weights_by_path(block)
    for neuron in incoming:
        zero_entries(weights["feedforward_intermediate_dense/kernel"], (slice(None), neuron))
        zero_entries(weights["feedforward_intermediate_dense/bias"], neuron)
    for neuron in outgoing:
        zero_entries(weights["feedforward_output_dense/kernel"], neuron)


def kill_value_head(block, head, attention="self_attention_layer"):
    weights = weights_by_path(block)
    zero_entries(weights[f"{attention}/value/kernel"], (slice(None), head))
    zero_entries(weights[f"{attention}/value/bias"], head)


def kill_output_head(block, head, attention="self_attention_layer"):
    zero_entries(weights_by_path(block)[f"{attention}/attention_output/kernel"], head)


def kill_at_random(block, attention, rng):
    """Kills up to all heads but one of ``attention`` at random (each by its value slices or by
    its output rows) and a few feed-forward neurons (by their column and bias or their row)."""
    heads = int(weights_by_path(block)[f"{attention}/value/kernel"].shape[1])
    for head in rng.choice(heads, rng.integers(0, heads), replace=False):
        kill = kill_value_head if rng.random() < 0.5 else kill_output_head
        kill(block, int(head), attention)
    neurons = rng.choice(block.intermediate_dim, 6, replace=False)
    kill_neurons(block, incoming=neurons[:3], outgoing=neurons[3:])


def arrays(block):
    return {p: keras.ops.convert_to_numpy(w) for p, w in weights_by_path(block).items()}


def alive_heads(block, attention):
    """The heads of ``attention`` with nonzero value slices and nonzero output rows, read from
    the weights: the head count the rewrite must give."""
    w = arrays(block)
    value = (np.abs(w[f"{attention}/value/kernel"]).sum(axis=(0, 2))
             + np.abs(w[f"{attention}/value/bias"]).sum(axis=1))
    output = np.abs(w[f"{attention}/attention_output/kernel"]).sum(axis=(1, 2))
    return int(np.sum((value > 0) & (output > 0)))


def alive_neurons(block):
    """The feed-forward neurons with a nonzero column or bias (the blocks here use relu or
    gelu, which map 0 to 0) and a nonzero output row."""
    w = arrays(block)
    incoming = (np.abs(w["feedforward_intermediate_dense/kernel"]).sum(axis=0)
                + np.abs(w["feedforward_intermediate_dense/bias"]))
    outgoing = np.abs(w["feedforward_output_dense/kernel"]).sum(axis=1)
    return int(np.sum((incoming > 0) & (outgoing > 0)))


def head_params(block, attention):
    """The parameters of one head of ``attention``, from its weights' shapes: the query, key
    and value kernel slices (inputs x key_dim) and bias slices (key_dim) and its output rows
    (key_dim x outputs)."""
    w = arrays(block)
    projections = sum(w[f"{attention}/{n}/kernel"].shape[0] * w[f"{attention}/{n}/kernel"].shape[2]
                      + w[f"{attention}/{n}/bias"].shape[1] for n in ("query", "key", "value"))
    _, key_dim, outputs = w[f"{attention}/attention_output/kernel"].shape
    return projections + key_dim * outputs


def neuron_params(block):
    """A neuron: its column of the intermediate kernel, its bias and its output row."""
    w = arrays(block)
    return (w["feedforward_intermediate_dense/kernel"].shape[0] + 1
            + w["feedforward_output_dense/kernel"].shape[1])


def removed_params(block, kept_heads, kept_neurons):
    """The parameters ``block`` loses when each attention ``a`` keeps ``kept_heads[a]`` heads
    and the feed-forward keeps ``kept_neurons`` neurons, counted from the shapes."""
    heads = {a: arrays(block)[f"{a}/value/kernel"].shape[1] for a in kept_heads}
    lost = sum((heads[a] - kept) * head_params(block, a) for a, kept in kept_heads.items())
    return lost + (block.intermediate_dim - kept_neurons) * neuron_params(block)


def bert():
    keras.utils.set_random_seed(0)
    model = keras_hub.models.BertBackbone(
        vocabulary_size=50, num_layers=2, num_heads=4, hidden_dim=HIDDEN, intermediate_dim=64,
        max_sequence_length=16)
    for name, (incoming, outgoing) in KILLED.items():
        kill_neurons(model.get_layer(name), incoming, outgoing)
    kill_value_head(model.get_layer("transformer_layer_0"), 2)
    return model


def bert_inputs(rng):
    mask = np.ones((3, 16), "int32")
    mask[0, 10:] = 0  # a padded sequence: the padding mask reaches the blocks
    return {"token_ids": rng.integers(0, 50, (3, 16)).astype("int32"),
            "segment_ids": rng.integers(0, 2, (3, 16)).astype("int32"), "padding_mask": mask}


def assert_same_outputs(model, other, inputs):
    """Every output of ``other`` equals ``model``'s to 1e-5 of the largest output."""
    before, after = keras.tree.flatten(model(inputs)), keras.tree.flatten(other(inputs))
    assert len(before) == len(after)
    for index, (expected, found) in enumerate(zip(before, after)):
        expected = keras.ops.convert_to_numpy(expected)
        found = keras.ops.convert_to_numpy(found)
        tolerance = 1e-5 * max(1.0, float(np.max(np.abs(expected))))
        assert np.max(np.abs(expected - found)) <= tolerance, index


def test_bert_loses_dead_heads_and_neurons_saves_loads_and_shrinks_again(tmp_path):
    rng = np.random.default_rng(0)
    model = bert()
    shrunk = ns.shrink(model)
    inputs = bert_inputs(rng)
    assert_same_outputs(model, shrunk, inputs)
    removed = sum(len(a) + len(b) for a, b in KILLED.values())
    # A neuron is a column of the intermediate kernel, its bias and a row of the output kernel;
    # a head of 8 its query, key and value columns (32 x 8 each) and biases and 8 output rows.
    head = 3 * (HIDDEN * 8 + 8) + 8 * HIDDEN
    assert shrunk.count_params() == model.count_params() - removed * (2 * HIDDEN + 1) - head
    block = shrunk.get_layer("transformer_layer_0")
    assert type(block) is hub_blocks.HeadPrunedTransformerEncoder
    assert (block.intermediate_dim, block.num_heads, block.key_dim) == (59, 3, 8)
    stock = shrunk.get_layer("transformer_layer_1")  # every head alive: the stock class
    assert type(stock) is keras_hub.layers.TransformerEncoder
    assert (stock.intermediate_dim, stock.num_heads) == (62, 4)
    shrunk.save(tmp_path / "bert.keras")
    reloaded = keras.models.load_model(tmp_path / "bert.keras")
    assert_same_outputs(model, reloaded, inputs)
    block = reloaded.get_layer("transformer_layer_0")
    kill_output_head(block, 0)
    kill_neurons(block, incoming=[4])
    again = ns.shrink(reloaded)
    assert_same_outputs(reloaded, again, inputs)
    found = again.get_layer("transformer_layer_0")
    assert type(found) is hub_blocks.HeadPrunedTransformerEncoder
    assert (found.num_heads, found.key_dim, found.intermediate_dim) == (2, 8, 58)
    assert again.count_params() == reloaded.count_params() - head - (2 * HIDDEN + 1)


def random_bert(seed, blocks):
    keras.utils.set_random_seed(seed)
    model = keras_hub.models.BertBackbone(
        vocabulary_size=50, num_layers=blocks, num_heads=4, hidden_dim=HIDDEN,
        intermediate_dim=64, max_sequence_length=16)
    rng = np.random.default_rng(seed)
    for index in range(blocks):
        kill_at_random(model.get_layer(f"transformer_layer_{index}"), "self_attention_layer", rng)
    return model


@pytest.mark.parametrize("seed", [1, 2])
def test_bert_loses_heads_killed_at_random_exactly(seed):
    model = random_bert(seed, blocks=4)
    blocks = [model.get_layer(f"transformer_layer_{i}") for i in range(4)]
    heads = [alive_heads(b, "self_attention_layer") for b in blocks]
    neurons = [alive_neurons(b) for b in blocks]
    assert min(heads) < 4 <= max(heads)  # a block loses heads, another keeps them all
    shrunk = ns.shrink(model)
    assert_same_outputs(model, shrunk, bert_inputs(np.random.default_rng(seed)))
    for block, kept_heads, kept_neurons in zip(blocks, heads, neurons):
        found = shrunk.get_layer(block.name)
        assert (found.num_heads, found.intermediate_dim) == (kept_heads, kept_neurons)
        assert type(found) is (keras_hub.layers.TransformerEncoder if kept_heads == 4
                               else hub_blocks.HeadPrunedTransformerEncoder)
        assert weights_by_path(found)["self_attention_layer/query/kernel"].shape[2] == 8
    drop = sum(removed_params(b, {"self_attention_layer": h}, n)
               for b, h, n in zip(blocks, heads, neurons))
    assert shrunk.count_params() == model.count_params() - drop


def test_the_report_gives_why_heads_and_neurons_went():
    lines = {r.name: r for r in ns.report(bert()).layers}
    line = lines["transformer_layer_0"]
    # 4 heads, then 64 neurons: head 2 and 5 neurons are dead.
    assert (line.units, line.dead, line.kept) == (68, 6, 62)
    assert line.reasons == {"zero value group": 1, "zero incoming group": 2,
                            "zero outgoing group": 3}
    assert line.notes == [] and lines["transformer_layer_1"].notes == []
    # Attention (4 projections of 4 heads of 8 and scores over 1 position) plus the
    # feed-forward products, per position: the sequence length is not static.
    assert (line.macs_before, line.macs_after) == (4 * 8 * (4 * 32 + 2) + 2 * 32 * 64,
                                                   3 * 8 * (4 * 32 + 2) + 2 * 32 * 59)


def encoder_model(activation):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 16))
    h = keras_hub.layers.TransformerEncoder(24, 2, activation=activation, name="block")(inputs)
    return keras.Model(inputs, L.Dense(3, name="head")(L.GlobalAveragePooling1D()(h)))


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_a_zero_column_kills_a_neuron_only_when_the_activation_maps_zero_to_zero(activation):
    model = encoder_model(activation)
    kill_neurons(model.get_layer("block"), incoming=[0, 4], outgoing=[10])
    plan = ns.make_plan(model).layers["block"]
    # sigmoid(0) = 1/2: a zero column still sends half its output row downstream. Units 0
    # and 1 are the two heads, then come the 24 neurons.
    assert plan.keep_units.tolist() == [0, 1] + [2 + u for u in range(24) if u not in (
        [0, 4, 10] if activation == "relu" else [10])]
    shrunk = ns.shrink(model)
    x = np.random.default_rng(2).normal(size=(4, 6, 16)).astype("float32")
    np.testing.assert_allclose(shrunk(x), model(x), rtol=1e-5, atol=1e-6)


def described(group):
    return sorted(f"{s.weight}{list(s.units)}:{s.role}" for s in group.slices)


def test_heads_and_neurons_are_unit_groups_a_penalty_step_drives_to_zero():
    model = encoder_model("relu")
    groups = {g.name: g for g in ns.unit_groups(model)}
    assert described(groups["block.intermediate[3]"]) == [
        "feedforward_intermediate_dense/bias[3]:produces",
        "feedforward_intermediate_dense/kernel[3]:produces",
        "feedforward_output_dense/kernel[3]:carries"]
    assert described(groups["block.heads[1]"]) == [
        "self_attention_layer/attention_output/kernel[1]:carries"] + [
        f"self_attention_layer/{n}/{w}[1]:produces" for n in ("key", "query", "value")
        for w in ("bias", "kernel")]
    assert ns.add_penalty(model, ns.GroupLasso(1e3), over="unit_groups") == ["block"]
    model.compile(ns.ProximalSGD(0.1), "mse")
    x = np.random.default_rng(3).normal(size=(8, 6, 16)).astype("float32")
    model.train_on_batch(x, np.zeros((8, 3), "float32"))  # one prox step: every group is 0
    assert (alive_heads(model.get_layer("block"), "self_attention_layer"),
            alive_neurons(model.get_layer("block"))) == (0, 0)
    plan = ns.make_plan(model).layers["block"]
    assert plan.dead == 26 and len(plan.keep_units) == 2  # one head, one neuron
    assert plan.keep_units[0] < 2 <= plan.keep_units[1]
    assert plan.notes[0].startswith("kept (strongest) so the layer is not empty")
    shrunk = ns.shrink(model)
    np.testing.assert_allclose(shrunk(x), model(x), rtol=1e-5, atol=1e-6)
    block = shrunk.get_layer("block")
    assert (block.num_heads, block.key_dim, block.intermediate_dim) == (1, 8, 1)


def test_prune_takes_the_weakest_bert_head():
    keras.utils.set_random_seed(4)
    model = keras_hub.models.BertBackbone(
        vocabulary_size=50, num_layers=2, num_heads=4, hidden_dim=HIDDEN, intermediate_dim=64,
        max_sequence_length=16)
    block = model.get_layer("transformer_layer_0")
    for path, weight in weights_by_path(block).items():
        if path.startswith("self_attention_layer/") and path != (
                "self_attention_layer/attention_output/bias"):
            value = keras.ops.convert_to_numpy(weight).copy()
            index = 1 if path.endswith("bias") or "output" in path else (slice(None), 1)
            value[index] *= 0.01  # head 1: the weakest by far
            weight.assign(value)
    compact = ns.prune(model, widths={"transformer_layer_0.heads": 3})
    head = head_params(block, "self_attention_layer")
    kill_value_head(block, 1)  # the answer: head 1 silenced by hand
    assert_same_outputs(model, compact, bert_inputs(np.random.default_rng(4)))
    found = compact.get_layer("transformer_layer_0")
    assert (found.num_heads, found.key_dim, found.intermediate_dim) == (3, 8, 64)
    assert compact.get_layer("transformer_layer_1").num_heads == 4
    assert compact.count_params() == model.count_params() - head


def test_shrinking_while_training_removes_dead_heads_and_neurons_and_records_them():
    model = encoder_model("relu")
    block = model.get_layer("block")
    # relu'(0) = 0 and relu(0) = 0: neither the column nor the output row gets a gradient, so
    # these neurons stay dead; a head with zero values and zero output rows gets no gradient
    # in either (each multiplies the other), so it stays dead too, under Adam as under SGD.
    kill_neurons(block, incoming=[2, 6, 9])
    kill_value_head(block, 1)
    kill_output_head(block, 1)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(16, 6, 16)), rng.normal(size=(16, 3))
    shrunk, history = ns.fit_with_shrinking(model, x, y, epochs=2, batch_size=8, verbose=0)
    assert history.shrinks[0]["units"] == {"block": (26, 22)}  # 2 heads and 24 neurons
    found = shrunk.get_layer("block")
    assert (found.num_heads, found.intermediate_dim) == (1, 21)
    assert type(found) is hub_blocks.HeadPrunedTransformerEncoder


VIT_HEADS, VIT_KEY_DIM, VIT_MLP = 4, 4, 32


def vit(seed, **kwargs):
    keras.utils.set_random_seed(seed)
    return keras_hub.models.ViTBackbone(
        image_shape=(16, 16, 3), patch_size=4, num_layers=2, num_heads=VIT_HEADS,
        hidden_dim=VIT_HEADS * VIT_KEY_DIM, mlp_dim=VIT_MLP, **kwargs)


def vit_blocks(model):
    return list(model.get_layer("vit_encoder").encoder_layers)


def vit_weights(block):
    """``{path inside the block: variable}``: a ViT block lives inside the encoder, so its
    weights' paths start with the encoder's name too."""
    prefix = f"{block.path}/"
    return {w.path[len(prefix):]: w for w in block.weights}


def vit_arrays(block):
    return {p: keras.ops.convert_to_numpy(w) for p, w in vit_weights(block).items()}


def kill_vit_at_random(block, rng, heads=True):
    """Kills up to all heads but one at random (value slices or output rows) and six MLP
    neurons (three by their dense_1 column and bias, three by their dense_2 row)."""
    weights = vit_weights(block)
    for head in rng.choice(VIT_HEADS, rng.integers(0, VIT_HEADS) if heads else 0, replace=False):
        if rng.random() < 0.5:
            zero_entries(weights["mha/value/kernel"], (slice(None), head))
            zero_entries(weights["mha/value/bias"], head)
        else:
            zero_entries(weights["mha/attention_output/kernel"], head)
    neurons = rng.choice(VIT_MLP, 6, replace=False)
    for neuron in neurons[:3]:
        zero_entries(weights["mlp/dense_1/kernel"], (slice(None), neuron))
        zero_entries(weights["mlp/dense_1/bias"], neuron)
    zero_entries(weights["mlp/dense_2/kernel"], neurons[3:])


def vit_alive(block):
    """``(heads, neurons)`` alive, read from the weights: a head with nonzero value slices and
    output rows, a neuron with a nonzero dense_1 column or bias (gelu(0) = 0) and dense_2 row."""
    w = vit_arrays(block)
    value = (np.abs(w["mha/value/kernel"]).sum(axis=(0, 2))
             + np.abs(w["mha/value/bias"]).sum(axis=1))
    output = np.abs(w["mha/attention_output/kernel"]).sum(axis=(1, 2))
    incoming = np.abs(w["mlp/dense_1/kernel"]).sum(axis=0) + np.abs(w["mlp/dense_1/bias"])
    outgoing = np.abs(w["mlp/dense_2/kernel"]).sum(axis=1)
    return int(np.sum((value > 0) & (output > 0))), int(np.sum((incoming > 0) & (outgoing > 0)))


def vit_removed_params(block, kept_heads, kept_neurons):
    """The parameters ``block`` loses, from its weights' shapes: a head is its query, key and
    value kernel and bias slices and its output rows; a neuron its dense_1 column and bias and
    its dense_2 row."""
    w = vit_arrays(block)
    head = sum(w[f"mha/{n}/kernel"].shape[0] * w[f"mha/{n}/kernel"].shape[2]
               + w[f"mha/{n}/bias"].shape[1] for n in ("query", "key", "value"))
    head += int(np.prod(w["mha/attention_output/kernel"].shape[1:]))
    neuron = w["mlp/dense_1/kernel"].shape[0] + 1 + w["mlp/dense_2/kernel"].shape[1]
    return (VIT_HEADS - kept_heads) * head + (VIT_MLP - kept_neurons) * neuron


def images(seed, count=3):
    return np.random.default_rng(seed).normal(size=(count, 16, 16, 3)).astype("float32")


def snapshot(model):
    return [keras.ops.convert_to_numpy(w).copy() for w in model.weights]


def assert_untouched(model, before):
    after = snapshot(model)
    assert len(after) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("seed", [1, 2])
def test_vit_loses_heads_and_mlp_neurons_killed_at_random_exactly(seed, tmp_path):
    model = vit(seed)
    rng = np.random.default_rng(seed)
    blocks = vit_blocks(model)
    for block in blocks:
        kill_vit_at_random(block, rng)
    alive = [vit_alive(b) for b in blocks]
    assert min(h for h, _ in alive) < VIT_HEADS  # some block loses heads
    before = snapshot(model)
    shrunk = ns.shrink(model)
    x = images(seed)
    assert_same_outputs(model, shrunk, x)
    for block, (heads, neurons) in zip(blocks, alive):
        found = shrunk.get_layer(block.name)
        assert type(found) is hub_blocks.HeadPrunedViTEncoderBlock
        assert (found.num_heads, found.key_dim, found.mlp_dim) == (heads, VIT_KEY_DIM, neurons)
    drop = sum(vit_removed_params(b, *counts) for b, counts in zip(blocks, alive))
    assert shrunk.count_params() == model.count_params() - drop
    patching = shrunk.get_layer("vit_patching_and_embedding")
    assert type(patching) is hub_blocks.SavableViTPatchingAndEmbedding
    for weight in shrunk.weights:  # the compact model owns its weights
        weight.assign(keras.ops.zeros_like(weight))
    assert_untouched(model, before)
    shrunk = ns.shrink(model)
    shrunk.save(tmp_path / "vit.keras")
    assert_same_outputs(model, keras.models.load_model(tmp_path / "vit.keras"), x)


def test_a_vit_image_classifier_shrinks_through_its_backbone():
    backbone = vit(4)
    classifier = keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=5,
                                                     preprocessor=None)
    block = vit_blocks(backbone)[0]
    weights = vit_weights(block)
    zero_entries(weights["mha/value/kernel"], (slice(None), 1))
    zero_entries(weights["mha/value/bias"], 1)
    zero_entries(weights["mlp/dense_2/kernel"], [3, 7])
    shrunk = ns.shrink(classifier)
    assert_same_outputs(classifier, shrunk, images(4))
    assert (shrunk.get_layer(block.name).num_heads, shrunk.get_layer(block.name).mlp_dim) == (
        VIT_HEADS - 1, VIT_MLP - 2)
    assert shrunk.count_params() == classifier.count_params() - vit_removed_params(
        block, VIT_HEADS - 1, VIT_MLP - 2)


def test_vit_without_class_token_or_biases_shrinks_saves_and_loads(tmp_path):
    model = vit(3, use_class_token=False, use_patch_bias=False, use_mha_bias=False,
                use_mlp_bias=False)
    first, second = (vit_weights(b) for b in vit_blocks(model))
    zero_entries(first["mha/attention_output/kernel"], 0)  # head 0 of the first block
    zero_entries(second["mlp/dense_2/kernel"], 3)  # neuron 3 of the second
    shrunk = ns.shrink(model)
    x = images(3)
    assert_same_outputs(model, shrunk, x)
    found = [shrunk.get_layer(b.name) for b in vit_blocks(model)]
    assert [(b.num_heads, b.mlp_dim) for b in found] == [(3, VIT_MLP), (VIT_HEADS, VIT_MLP - 1)]
    # Without biases a head is its query, key and value columns (16 x 4 each) and its 4
    # output rows of 16; a neuron its dense_1 column and dense_2 row (16 each).
    assert shrunk.count_params() == model.count_params() - (3 * 64 + 64) - (16 + 16)
    config = shrunk.get_layer("vit_patching_and_embedding").get_config()
    assert (config["use_class_token"], config["use_patch_bias"]) == (False, False)
    assert "num_patches" not in config and "num_positions" not in config
    shrunk.save(tmp_path / "vit.keras")
    reloaded = keras.models.load_model(tmp_path / "vit.keras")
    assert_same_outputs(model, reloaded, x)
    again = ns.shrink(reloaded)  # the stand-ins are read like the stock layers
    assert_same_outputs(model, again, x)
    assert again.count_params() == shrunk.count_params()


def test_the_report_gives_the_vit_blocks_units_and_multiply_adds():
    model = vit(4)
    first = vit_weights(vit_blocks(model)[0])
    zero_entries(first["mha/attention_output/kernel"], 3)
    zero_entries(first["mlp/dense_1/kernel"], (slice(None), 5))
    zero_entries(first["mlp/dense_1/bias"], 5)
    lines = {r.name: r for r in ns.report(model).layers}
    line = lines["transformer_block_1"]
    assert (line.units, line.dead, line.kept) == (VIT_HEADS + VIT_MLP, 2, VIT_HEADS + VIT_MLP - 2)
    assert line.reasons == {"zero output rows": 1, "zero incoming group": 1}
    # 17 positions (16 patches and the class token) of width 16: per head, four projections of
    # 16 x 4 and scores and weighted sums over 17 positions; per neuron, two products of 16.
    steps, dim = 17, 16
    attention, mlp = steps * VIT_KEY_DIM * (4 * dim + 2 * steps), 2 * steps * dim
    assert (line.macs_before, line.macs_after) == (4 * attention + 32 * mlp,
                                                   3 * attention + 31 * mlp)
    assert lines["transformer_block_2"].dead == 0


def test_a_vit_penalty_step_drives_heads_and_neurons_to_zero():
    model = vit(5)
    groups = {g.name: g for g in ns.unit_groups(model)}
    assert described(groups["transformer_block_2.heads[1]"]) == [
        "mha/attention_output/kernel[1]:carries"] + [
        f"mha/{n}/{w}[1]:produces" for n in ("key", "query", "value") for w in ("bias", "kernel")]
    assert described(groups["transformer_block_1.intermediate[7]"]) == [
        "mlp/dense_1/bias[7]:produces", "mlp/dense_1/kernel[7]:produces",
        "mlp/dense_2/kernel[7]:carries"]
    assert sorted(ns.add_penalty(model, ns.GroupLasso(1e3), over="unit_groups")) == [
        "transformer_block_1", "transformer_block_2"]
    model.compile(ns.ProximalSGD(0.1), "mse")
    x = images(5, count=2)
    model.train_on_batch(x, np.zeros((2, 17, 16), "float32"))  # one prox step: every group is 0
    assert [vit_alive(b) for b in vit_blocks(model)] == [(0, 0), (0, 0)]
    plan = ns.make_plan(model).layers["transformer_block_1"]
    assert plan.dead == VIT_HEADS + VIT_MLP and len(plan.keep_units) == 2  # a head, a neuron
    shrunk = ns.shrink(model)
    assert_same_outputs(model, shrunk, x)
    found = shrunk.get_layer("transformer_block_2")
    assert (found.num_heads, found.key_dim, found.mlp_dim) == (1, VIT_KEY_DIM, 1)


def test_prune_takes_the_weakest_vit_head():
    model = vit(6)
    block = vit_blocks(model)[0]
    for path, weight in vit_weights(block).items():
        if path.startswith("mha/") and path != "mha/attention_output/bias":
            value = keras.ops.convert_to_numpy(weight).copy()
            index = 2 if path.endswith("bias") or "output" in path else (slice(None), 2)
            value[index] *= 0.01  # head 2: the weakest by far
            weight.assign(value)
    compact = ns.prune(model, widths={"transformer_block_1.heads": 3})
    head = vit_removed_params(block, VIT_HEADS - 1, VIT_MLP)
    zero_entries(vit_weights(block)["mha/value/kernel"], (slice(None), 2))  # the answer
    zero_entries(vit_weights(block)["mha/value/bias"], 2)
    assert_same_outputs(model, compact, images(6))
    found = compact.get_layer("transformer_block_1")
    assert (found.num_heads, found.key_dim, found.mlp_dim) == (3, VIT_KEY_DIM, VIT_MLP)
    assert compact.get_layer("transformer_block_2").num_heads == VIT_HEADS
    assert compact.count_params() == model.count_params() - head


def test_only_the_stock_vit_encoder_is_read_through():
    from keras_hub.src.models.vit.vit_layers import ViTEncoder  # noqa: PLC0415 (not exported)

    class Encoder(ViTEncoder):  # may call its blocks otherwise: an unknown layer
        pass

    keras.utils.set_random_seed(8)
    inputs = keras.Input((17, 16))
    outputs = {c: c(num_layers=1, num_heads=2, hidden_dim=16, mlp_dim=32, name="enc")(inputs)
               for c in (ViTEncoder, Encoder)}
    names = {c: [line.name for line in ns.report(keras.Model(inputs, o)).layers]
             for c, o in outputs.items()}
    assert names == {ViTEncoder: ["transformer_block_1", "ln"], Encoder: ["enc"]}


def test_a_head_pruned_vit_block_refuses_a_bad_head_size():
    message = ("HeadPrunedViTEncoderBlock: expected `key_dim` to be None or a positive int. "
               "Received: key_dim=-2. How to fix: pass e.g. key_dim=64.")
    with pytest.raises(ValueError, match=exactly(message)):
        hub_blocks.HeadPrunedViTEncoderBlock(2, 16, 32, key_dim=-2)


@pytest.mark.slow
def test_the_package_imports_without_importing_keras_hub():
    code = "import sys, tf_neuronselect; print('keras_hub' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"


@pytest.mark.slow
@pytest.mark.parametrize("factory, missing, layer, loaded", [
    (bert, "HeadPrunedTransformerEncoder", "transformer_layer_0", "HeadPrunedTransformerEncoder"),
    (lambda: vit(7), "SavableViTPatchingAndEmbedding", "transformer_block_1",
     "HeadPrunedViTEncoderBlock")])
def test_a_shrunk_model_loads_in_a_fresh_process_once_hub_blocks_is_imported(
        tmp_path, factory, missing, layer, loaded):
    path = tmp_path / "shrunk.keras"
    ns.shrink(factory()).save(path)
    code = (f"import keras\npath = {str(path)!r}\n"
            "try:\n    keras.models.load_model(path)\nexcept TypeError as error:\n"
            f"    print('refused:', \"Could not locate class '{missing}'\" in str(error))\n"
            "import tf_neuronselect.layers.hub_blocks\n"
            f"print('loaded:', type(keras.models.load_model(path).get_layer({layer!r}))"
            ".__name__)\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.split() == ["refused:", "True", "loaded:", loaded]


def test_a_head_pruned_block_has_the_stock_weights_with_fewer_heads_and_round_trips():
    stock = keras_hub.layers.TransformerDecoder(24, 4, name="decoder")
    pruned = hub_blocks.HeadPrunedTransformerDecoder(24, 3, key_dim=4,
                                                     cross_attention_num_heads=2, name="decoder")
    for block in (stock, pruned):
        block(keras.Input((4, 16)), keras.Input((5, 16)))
    shapes = {b: [(w.path, tuple(w.shape)) for w in b.weights] for b in (stock, pruned)}
    # The same weights in the same order (no weights left of the attentions the stock build
    # made), the attentions' head axes cut to 3 and 2 heads of 4.
    heads = {"self_attention": 3, "cross_attention": 2}
    expected = []
    for path, shape in shapes[stock]:
        attention = path.split("/")[1]
        if attention in heads and len(shape) >= 2 and "output/bias" not in path:
            axis = 0 if "attention_output" in path or len(shape) == 2 else 1
            shape = shape[:axis] + (heads[attention],) + shape[axis + 1:]
        expected.append((path, shape))
    assert shapes[pruned] == expected
    config = pruned.get_config()
    assert (config["num_heads"], config["key_dim"], config["cross_attention_num_heads"]) == (
        3, 4, 2)
    again = hub_blocks.HeadPrunedTransformerDecoder.from_config(config)
    assert again.built and again.get_config() == config
    assert [tuple(w.shape) for w in again.weights] == [s for _, s in expected]


def test_a_head_pruned_block_refuses_a_bad_head_size():
    message = ("HeadPrunedTransformerEncoder: expected `key_dim` to be None or a positive int. "
               "Received: key_dim=0. How to fix: pass e.g. key_dim=64.")
    with pytest.raises(ValueError, match=exactly(message)):
        hub_blocks.HeadPrunedTransformerEncoder(64, 4, key_dim=0)
    with pytest.raises(TypeError, match="expected one of the classes"):
        hub_blocks.head_pruned_class(keras.layers.Dense)


def gemma():
    keras.utils.set_random_seed(0)
    return keras_hub.models.GemmaBackbone(
        vocabulary_size=50, num_layers=2, num_query_heads=4, num_key_value_heads=2,
        hidden_dim=16, intermediate_dim=32, head_dim=8)


def gemma_inputs(rng):
    mask = np.ones((2, 8), "int32")
    mask[1, 5:] = 0
    return {"token_ids": rng.integers(0, 50, (2, 8)).astype("int32"), "padding_mask": mask}


def test_gemma_loses_dead_heads_and_feed_forward_neurons_exactly(tmp_path):
    rng = np.random.default_rng(4)
    model = gemma()
    first = weights_by_path(model.get_layer("decoder_block_0"))
    zero_entries(first["attention/value/kernel"], 1)  # key/value head 1 (query heads 2 and 3)
    zero_entries(first["ffw_gating/kernel"], (slice(None), 2))  # gelu(0) = 0
    zero_entries(first["ffw_gating_2/kernel"], (slice(None), 5))  # the linear half
    zero_entries(first["ffw_linear/kernel"], 7)
    second = weights_by_path(model.get_layer("decoder_block_1"))
    zero_entries(second["attention/attention_output/kernel"], [0, 1, 2])  # head 0 only: 3 is alive
    shrunk = ns.shrink(model)
    inputs = gemma_inputs(rng)
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    # A key/value head: its query heads' slices (2 x 16 x 8), its key and value slices
    # (16 x 8 each) and its query heads' output rows (2 x 8 x 16). A neuron: two gate columns
    # and an output row of 16.
    head, neuron = 2 * 128 + 2 * 128 + 2 * 128, 3 * 16
    assert shrunk.count_params() == model.count_params() - 2 * head - 3 * neuron
    config = shrunk.get_layer("decoder_block_0").get_config()
    assert (config["num_query_heads"], config["num_key_value_heads"],
            config["intermediate_dim"]) == (2, 1, 26)
    shrunk.save(tmp_path / "gemma.keras")
    reloaded = keras.models.load_model(tmp_path / "gemma.keras")
    np.testing.assert_allclose(reloaded(inputs), model(inputs), rtol=1e-5, atol=1e-6)


def test_prune_takes_the_weakest_gemma_head_with_its_query_heads():
    rng = np.random.default_rng(5)
    model = gemma()
    first = weights_by_path(model.get_layer("decoder_block_0"))
    for path, heads in [("attention/query/kernel", [0, 1]), ("attention/key/kernel", [0]),
                        ("attention/value/kernel", [0]),
                        ("attention/attention_output/kernel", [0, 1])]:
        value = keras.ops.convert_to_numpy(first[path]).copy()
        value[heads] *= 0.01  # key/value head 0 and its query heads: the weakest by far
        first[path].assign(value)
    compact = ns.prune(model, widths={"decoder_block_0.heads": 1})
    zero_entries(first["attention/value/kernel"], 0)  # the answer: head 0 silenced by hand
    inputs = gemma_inputs(rng)
    np.testing.assert_allclose(compact(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    config = compact.get_layer("decoder_block_0").get_config()
    assert (config["num_query_heads"], config["num_key_value_heads"]) == (2, 1)
    assert compact.get_layer("decoder_block_1").get_config()["num_key_value_heads"] == 2
    assert compact.count_params() == model.count_params() - (2 * 128 + 128 + 128 + 2 * 128)


def test_a_gemma_penalty_step_keeps_one_head_and_one_neuron_per_block():
    model = gemma()
    groups = {g.name: g for g in ns.unit_groups(model)}
    described = sorted(f"{s.weight}{list(s.units)}:{s.role}"
                       for s in groups["decoder_block_0.heads[1]"].slices)
    assert described == [
        "attention/attention_output/kernel[2, 3]:carries", "attention/key/kernel[1]:produces",
        "attention/query/kernel[2, 3]:produces", "attention/value/kernel[1]:produces"]
    assert "decoder_block_1.intermediate[15]" in groups
    ns.add_penalty(model, ns.GroupLasso(1e3), over="unit_groups")
    model.compile(ns.ProximalSGD(0.1), "mse")
    inputs = gemma_inputs(np.random.default_rng(5))
    model.train_on_batch(inputs, np.zeros((2, 8, 16), "float32"))  # every group is now 0
    plan = ns.make_plan(model).layers["decoder_block_0"]
    assert (plan.dead, plan.keep_units.tolist()) == (18, [0, 2])  # head 0, neuron 0
    shrunk = ns.shrink(model)
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [3, 6])
def test_gpt2_loses_heads_killed_at_random_exactly(seed, tmp_path):
    keras.utils.set_random_seed(seed)
    model = keras_hub.models.GPT2Backbone(vocabulary_size=50, num_layers=4, num_heads=4,
                                          hidden_dim=HIDDEN, intermediate_dim=64,
                                          max_sequence_length=8)
    rng = np.random.default_rng(seed)
    blocks = [model.get_layer(f"transformer_layer_{i}") for i in range(4)]
    for block in blocks:
        kill_at_random(block, "self_attention", rng)
    heads = [alive_heads(b, "self_attention") for b in blocks]
    neurons = [alive_neurons(b) for b in blocks]
    assert min(heads) < 4 <= max(heads)  # a block loses heads, another keeps them all
    shrunk = ns.shrink(model)
    inputs = gemma_inputs(rng)
    assert_same_outputs(model, shrunk, inputs)
    for block, kept_heads, kept_neurons in zip(blocks, heads, neurons):
        found = shrunk.get_layer(block.name)
        assert (found.num_heads, found.intermediate_dim) == (kept_heads, kept_neurons)
        assert type(found) is (keras_hub.layers.TransformerDecoder if kept_heads == 4
                               else hub_blocks.HeadPrunedTransformerDecoder)
    drop = sum(removed_params(b, {"self_attention": h}, n)
               for b, h, n in zip(blocks, heads, neurons))
    assert shrunk.count_params() == model.count_params() - drop
    shrunk.save(tmp_path / "gpt2.keras")
    assert_same_outputs(model, keras.models.load_model(tmp_path / "gpt2.keras"), inputs)


def test_a_decoder_loses_self_and_cross_attention_heads_apart(tmp_path):
    keras.utils.set_random_seed(2)
    source, target = keras.Input((5, 16)), keras.Input((4, 16))
    memory = keras_hub.layers.TransformerEncoder(24, 2, name="encoder")(source)
    h = keras_hub.layers.TransformerDecoder(24, 4, name="decoder")(target, memory)
    model = keras.Model([source, target], L.Dense(3, name="head")(h))
    block = model.get_layer("decoder")
    assert {"decoder.heads[3]", "decoder.cross_heads[3]", "decoder.intermediate[23]"} <= {
        g.name for g in ns.unit_groups(model)}
    kill_neurons(block, incoming=[0, 3], outgoing=[8])
    kill_value_head(block, 1, "self_attention")
    kill_output_head(block, 0, "cross_attention")
    kill_value_head(block, 2, "cross_attention")
    kept = {a: alive_heads(block, a) for a in ("self_attention", "cross_attention")}
    assert kept == {"self_attention": 3, "cross_attention": 2}
    shrunk = ns.shrink(model)
    rng = np.random.default_rng(7)
    inputs = [rng.normal(size=(2, 5, 16)), rng.normal(size=(2, 4, 16))]
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    found = shrunk.get_layer("decoder")
    assert type(found) is hub_blocks.HeadPrunedTransformerDecoder
    assert (found.num_heads, found.cross_attention_num_heads, found.key_dim,
            found.intermediate_dim) == (3, 2, 4, alive_neurons(block))
    assert type(shrunk.get_layer("encoder")) is keras_hub.layers.TransformerEncoder
    assert shrunk.count_params() == model.count_params() - removed_params(
        block, kept, alive_neurons(block))
    shrunk.save(tmp_path / "decoder.keras")
    reloaded = keras.models.load_model(tmp_path / "decoder.keras")
    np.testing.assert_allclose(reloaded(inputs), model(inputs), rtol=1e-5, atol=1e-6)


def test_gemma_heads_stay_when_their_scale_depends_on_the_head_count():
    model = gemma()
    block = model.get_layer("decoder_block_0")
    zero_entries(weights_by_path(block)["attention/value/kernel"], 1)
    block.attention.query_head_dim_normalize = False  # scores scaled by hidden // heads
    plan = ns.make_plan(model).layers["decoder_block_0"]
    assert plan.keep_units.tolist() == list(range(18)) and plan.dead == 0
    assert plan.notes == [
        "kept every attention head: the attention scales scores by 1 / sqrt(hidden_dim // "
        "num_query_heads), so fewer heads would change every head's scale"]


def test_other_keras_hub_layers_are_copied_or_refused_by_name():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((6, 8))
    projection = L.Dense(16, name="proj")
    projected = projection(inputs)
    zero_entries(projection.kernel, (slice(None), 3))
    normed = L.LayerNormalization(name="norm")(projected)  # mixes channels: 3 stays
    pinned = keras.Model(inputs, keras_hub.layers.FNetEncoder(32, name="fnet")(normed))
    shrunk = ns.shrink(pinned)
    x = np.random.default_rng(8).normal(size=(2, 6, 8)).astype("float32")
    np.testing.assert_allclose(shrunk(x), pinned(x), rtol=1e-5, atol=1e-6)
    assert shrunk.count_params() == pinned.count_params()
    read = keras.Model(inputs, keras_hub.layers.FNetEncoder(32, name="fnet")(projected))
    message = (
        "Expected every layer that reads a removable channel to have a slicer. Received: layer "
        "'fnet' of type FNetEncoder reads channels [3] of 'proj', which are dead, and "
        "tf_neuronselect does not know how FNetEncoder maps channels. How to fix: register a "
        "slicer with tf_neuronselect.register_slicer(FNetEncoder, slicer) (for an element-wise "
        "layer, tf_neuronselect.surgery.Elementwise()), or revive those units.")
    with pytest.raises(ValueError, match=exactly(message)):
        ns.shrink(read)


def test_bart_is_refused_for_its_shared_token_embedding():
    model = keras_hub.models.BartBackbone(vocabulary_size=50, num_layers=1, num_heads=2,
                                          hidden_dim=16, intermediate_dim=32,
                                          max_sequence_length=8)
    message = (
        "Expected every layer to be called once. Received: layer 'token_embedding' "
        "(ReversibleEmbedding) is shared (2 calls), so slicing it for one call would change the "
        "others. How to fix: use a separate layer per call.")
    with pytest.raises(ValueError, match=exactly(message)):
        ns.shrink(model)
