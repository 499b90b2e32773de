"""KerasHub backbones: a layer that cannot be rebuilt from its config (ViT's patching) is
refused by name; blocks without a slicer pass through unchanged."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly

keras_hub = pytest.importorskip("keras_hub")


def _weights(layer):
    return {w.path.split("/", 1)[1]: w for w in layer.weights}


def _zero(variable, index):
    value = keras.ops.convert_to_numpy(variable).copy()
    value[index] = 0.0
    variable.assign(value)


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


def test_gemma_blocks_pass_through_unchanged():
    # GemmaDecoderBlock has no slicer: the residual stream from the (pinned) embedding reaches
    # it, nothing removable does, so it is copied as it is.
    keras.utils.set_random_seed(0)
    model = keras_hub.models.GemmaBackbone(
        vocabulary_size=50, num_layers=2, num_query_heads=2, num_key_value_heads=1,
        hidden_dim=16, intermediate_dim=32, head_dim=8)
    kill = _weights(model.get_layer("decoder_block_0"))["ffw_linear/kernel"]
    _zero(kill, 3)  # a dead feed-forward neuron of an unknown block stays
    shrunk = ns.shrink(model)
    inputs = {"token_ids": np.random.default_rng(4).integers(0, 50, (2, 8)).astype("int32"),
              "padding_mask": np.ones((2, 8), "int32")}
    np.testing.assert_allclose(shrunk(inputs), model(inputs), rtol=1e-5, atol=1e-6)
    assert shrunk.count_params() == model.count_params()
