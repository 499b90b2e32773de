"""KerasHub backbones: BERT's and GPT-2's blocks lose dead feed-forward neurons exactly (their
heads stay, with the reason in the plan), Gemma's blocks lose dead heads and neurons, KerasHub's
layers are registered only when met, and a layer that cannot be rebuilt from its config (ViT's
patching) is refused by name."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly
from tests.helpers.weights import weights_by_path, zero_entries

keras_hub = pytest.importorskip("keras_hub")

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


def kill_value_head(block, head):
    weights = weights_by_path(block)
    zero_entries(weights["self_attention_layer/value/kernel"], (slice(None), head))
    zero_entries(weights["self_attention_layer/value/bias"], head)


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
    before, after = model(inputs), other(inputs)
    for key in before:
        expected = keras.ops.convert_to_numpy(before[key])
        found = keras.ops.convert_to_numpy(after[key])
        tolerance = 1e-5 * max(1.0, float(np.max(np.abs(expected))))
        assert np.max(np.abs(expected - found)) <= tolerance, key


def test_bert_loses_dead_feed_forward_neurons_exactly(tmp_path):
    rng = np.random.default_rng(0)
    model = bert()
    shrunk = ns.shrink(model)
    inputs = bert_inputs(rng)
    assert_same_outputs(model, shrunk, inputs)
    removed = sum(len(a) + len(b) for a, b in KILLED.values())
    # A neuron is a column of the intermediate kernel, its bias and a row of the output kernel.
    assert shrunk.count_params() == model.count_params() - removed * (2 * HIDDEN + 1)
    block = shrunk.get_layer("transformer_layer_0")
    assert type(block) is keras_hub.layers.TransformerEncoder
    assert (block.intermediate_dim, block.num_heads) == (59, 4)
    assert shrunk.get_layer("transformer_layer_1").intermediate_dim == 62
    shrunk.save(tmp_path / "bert.keras")
    assert_same_outputs(model, keras.models.load_model(tmp_path / "bert.keras"), inputs)


def test_the_report_gives_why_neurons_went_and_why_dead_heads_stay():
    lines = {r.name: r for r in ns.report(bert()).layers}
    line = lines["transformer_layer_0"]
    assert (line.units, line.dead, line.kept) == (64, 5, 59)
    assert line.reasons == {"zero incoming group": 2, "zero outgoing group": 3}
    assert line.notes == [
        "kept dead attention heads [2] of self_attention_layer: TransformerEncoder derives "
        "key_dim = hidden_dim // num_heads, so a block with fewer heads computes another "
        "function"]
    assert lines["transformer_layer_1"].notes == []
    # Attention (4 projections of 4 heads of 8 and scores over 1 position) plus the
    # feed-forward products, per position: the sequence length is not static.
    assert (line.macs_before, line.macs_after) == (4 * 8 * (4 * 32 + 2) + 2 * 32 * 64,
                                                   4 * 8 * (4 * 32 + 2) + 2 * 32 * 59)


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
    # sigmoid(0) = 1/2: a zero column still sends half its output row downstream.
    assert plan.keep_units.tolist() == [u for u in range(24) if u not in (
        [0, 4, 10] if activation == "relu" else [10])]
    shrunk = ns.shrink(model)
    x = np.random.default_rng(2).normal(size=(4, 6, 16)).astype("float32")
    np.testing.assert_allclose(shrunk(x), model(x), rtol=1e-5, atol=1e-6)


def test_feed_forward_neurons_are_unit_groups_the_penalty_drives_to_zero():
    model = encoder_model("relu")
    groups = {g.name: g for g in ns.unit_groups(model)}
    group = groups["block.intermediate[3]"]
    assert sorted(f"{s.weight}{list(s.units)}:{s.role}" for s in group.slices) == [
        "feedforward_intermediate_dense/bias[3]:produces",
        "feedforward_intermediate_dense/kernel[3]:produces",
        "feedforward_output_dense/kernel[3]:carries"]
    assert ns.add_penalty(model, ns.GroupLasso(1e3), over="unit_groups") == ["block"]
    model.compile(ns.ProximalSGD(0.1), "mse")
    x = np.random.default_rng(3).normal(size=(8, 6, 16)).astype("float32")
    model.train_on_batch(x, np.zeros((8, 3), "float32"))  # one prox step: every group is 0
    plan = ns.make_plan(model).layers["block"]
    assert (plan.dead, len(plan.keep_units)) == (24, 1)
    assert plan.notes[0].startswith("kept (strongest) so the layer is not empty")


def test_shrinking_while_training_removes_dead_neurons_and_records_them():
    model = encoder_model("relu")
    # relu'(0) = 0 and relu(0) = 0: neither the column nor the output row gets a gradient, so
    # these neurons stay dead under plain SGD.
    kill_neurons(model.get_layer("block"), incoming=[2, 6, 9])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(16, 6, 16)), rng.normal(size=(16, 3))
    shrunk, history = ns.fit_with_shrinking(model, x, y, epochs=1, batch_size=8, verbose=0)
    assert history.shrinks[0]["units"] == {"block": (24, 21)}
    assert shrunk.get_layer("block").intermediate_dim == 21


def test_vit_is_refused_by_name():
    model = keras_hub.models.ViTBackbone(image_shape=(16, 16, 3), patch_size=4, num_layers=1,
                                         num_heads=2, hidden_dim=16, mlp_dim=32)
    message = (
        "Cannot rebuild layer 'vit_patching_and_embedding' (keras_hub.src.models.vit."
        "vit_layers.ViTPatchingAndEmbedding) from its own config. Expected a layer class whose "
        "from_config(get_config()) builds it again. Received: ValueError: Unrecognized keyword "
        "arguments passed to ViTPatchingAndEmbedding: {'num_patches': 16, 'num_positions': 17}."
        " How to fix: give ViTPatchingAndEmbedding a get_config() that returns only arguments "
        "of its __init__ (or a from_config that drops the others): the rewrite copies every "
        "layer through its config, so until then it cannot rewrite a model holding this layer.")
    with pytest.raises(TypeError, match=exactly(message)):
        ns.shrink(model)


@pytest.mark.slow
def test_the_package_imports_without_importing_keras_hub():
    code = "import sys, tf_neuronselect; print('keras_hub' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"


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


def test_gpt2_decoder_blocks_lose_neurons_and_keep_heads():
    keras.utils.set_random_seed(0)
    model = keras_hub.models.GPT2Backbone(vocabulary_size=50, num_layers=2, num_heads=2,
                                          hidden_dim=16, intermediate_dim=32,
                                          max_sequence_length=8)
    block = weights_by_path(model.get_layer("transformer_layer_0"))
    zero_entries(block["feedforward_output_dense/kernel"], [1, 4])
    zero_entries(block["self_attention/value/kernel"], (slice(None), 1))
    shrunk = ns.shrink(model)
    inputs = gemma_inputs(np.random.default_rng(6))
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    assert shrunk.count_params() == model.count_params() - 2 * (2 * 16 + 1)
    line = next(r for r in ns.report(model).layers if r.name == "transformer_layer_0")
    assert line.notes == [
        "kept dead attention heads [1] of self_attention: TransformerDecoder derives key_dim = "
        "hidden_dim // num_heads, so a block with fewer heads computes another function"]


def test_a_decoder_with_cross_attention_loses_neurons_exactly():
    keras.utils.set_random_seed(2)
    source, target = keras.Input((5, 16)), keras.Input((4, 16))
    memory = keras_hub.layers.TransformerEncoder(24, 2, name="encoder")(source)
    h = keras_hub.layers.TransformerDecoder(24, 2, name="decoder")(target, memory)
    model = keras.Model([source, target], L.Dense(3, name="head")(h))
    kill_neurons(model.get_layer("decoder"), incoming=[0, 3], outgoing=[8])
    shrunk = ns.shrink(model)
    rng = np.random.default_rng(7)
    inputs = [rng.normal(size=(2, 5, 16)), rng.normal(size=(2, 4, 16))]
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    assert shrunk.get_layer("decoder").intermediate_dim == 21


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
