"""KerasHub's ViT (``ViTBackbone``): its encoder is read through, its blocks lose dead heads and
MLP neurons.

``ViTBackbone`` is two layers: ``ViTPatchingAndEmbedding`` (patches, class token, position
embedding: the residual stream starts there, so it stays whole) and ``ViTEncoder``, which calls
a dropout, its ``ViTEncoderBlock``s and a final ``LayerNormalization`` one after the other. The
graph reads the encoder through as those layers (``encoder_chain``), so each block is a layer of
the graph, as BERT's are.

A block is pre-norm: ``x + mha(ln_1(x))``, then ``x + mlp(ln_2(x))``. Its heads are those of its
stock ``MultiHeadAttention`` (``mha``) and its neurons those of its MLP (``mlp/dense_1`` columns
and bias, gelu, and ``mlp/dense_2`` rows), dead and removed as in ``TransformerBlockSlicer``
(hub_transformer.py). The stock block derives ``key_dim = hidden_dim // num_heads`` and cannot
be rebuilt from its own config anyway (it lists ``key_dim``, which its constructor rejects), so
every block is rebuilt as ``HeadPrunedViTEncoderBlock`` (layers/hub_blocks.py), which takes it.
"""

import operator

from tf_neuronselect.analysis.hub_transformer import Attention
from tf_neuronselect.analysis.hub_transformer import FeedForward
from tf_neuronselect.analysis.hub_transformer import TransformerBlockSlicer

VIT_FEEDFORWARD = FeedForward("mlp/dense_1/kernel", "mlp/dense_1/bias", "mlp/dense_2/kernel",
                              "mlp_dim", operator.attrgetter("mlp.dense_1.activation"))


class ViTBlockSlicer(TransformerBlockSlicer):
    """KerasHub's ``ViTEncoderBlock``: heads (``heads``) and MLP neurons (``intermediate``)."""

    def __init__(self):
        super().__init__([Attention("mha", "heads", "num_heads")], VIT_FEEDFORWARD)

    def internal_class(self, layer, keep):
        """Always the block that takes ``key_dim``: the stock one cannot be rebuilt."""
        from tf_neuronselect.layers import hub_blocks  # noqa: PLC0415 (imports keras_hub)

        return hub_blocks.head_pruned_class(type(layer))


def encoder_chain(encoder):
    """The layers KerasHub's ``ViTEncoder`` calls one after the other on its input: its
    dropout, its blocks, its final normalization (its ``call``, keras-hub 0.32)."""
    blocks = list(encoder.encoder_layers)
    if len(blocks) != encoder.num_layers:
        raise ValueError(
            f"Expected ViTEncoder '{encoder.name}' to hold its {encoder.num_layers} blocks. "
            f"Received: {len(blocks)} blocks in encoder_layers. How to fix: build the encoder "
            "(call it once) and leave encoder_layers as its build made it.")
    return [encoder.dropout, *blocks, encoder.layer_norm]
