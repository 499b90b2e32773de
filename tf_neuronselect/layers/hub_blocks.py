"""KerasHub's layers rebuilt so a model can lose heads and still compute the same function, and
save and load.

``keras_hub.layers.TransformerEncoder`` / ``TransformerDecoder`` derive the per-head size
``hidden_dim // num_heads`` in ``build``: the same block with fewer heads has wider heads and
another softmax scale. These subclasses take the per-head size ``key_dim`` (and the decoder a
separate ``cross_attention_num_heads``) and build their attentions with it; everything else is
the stock block. ``tf_neuronselect.shrink`` makes them when it removes a block's heads.

ViT's layers (keras-hub 0.32) cannot be rebuilt from their own config at all: ``ViTEncoderBlock``
lists ``key_dim`` and ``ViTPatchingAndEmbedding`` lists ``num_patches`` / ``num_positions``,
which their constructors reject (``ViTBackbone`` itself never needs it: it is rebuilt from its
own arguments). ``HeadPrunedViTEncoderBlock`` takes ``key_dim``; ``SavableViTPatchingAndEmbedding``
saves its constructor's arguments only. ``shrink`` rebuilds every ViT block and patching layer
as these (``stand_in``), whether or not they lose units.

This module imports keras_hub, so nothing in the package imports it eagerly (keras_hub is
optional). Importing it registers the classes as ``tf_neuronselect>HeadPrunedTransformerEncoder``
and so on: do so before ``keras.models.load_model`` reads a model that holds them.
"""

import keras_hub

from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.validation import validate_positive_int


class _ExplicitHeads:
    """The attention swap both blocks share.

    The stock ``build`` creates each attention and assigns it to the block; the assignment is
    where the layer is swapped for one of the same class and config but this block's head count
    and ``key_dim``. Swapping it before it is built (rather than replacing it afterwards) means
    the stock attention never creates weights, and the block's weights keep the stock order,
    which a copy of a stock block's weights (``set_weights``) relies on.
    """

    def __setattr__(self, name, value):
        role = keras_private.hub_attention_role(name)
        if role is not None and value is not None and not value.built:
            value = self._resized(value, role)
        super().__setattr__(name, value)

    def _resized(self, attention, role):
        config = attention.get_config()
        key_dim = config["key_dim"] if self.key_dim is None else self.key_dim
        config.update(num_heads=self._heads(role), key_dim=key_dim, value_dim=key_dim)
        return type(attention).from_config(config)

    def _heads(self, role):
        return self.num_heads


@neuronselect_export
class HeadPrunedTransformerEncoder(_ExplicitHeads, keras_hub.layers.TransformerEncoder):
    """``keras_hub.layers.TransformerEncoder`` whose self-attention has ``num_heads`` heads of
    ``key_dim`` each.

    Args:
        intermediate_dim, num_heads, ...: as ``keras_hub.layers.TransformerEncoder``.
        key_dim: int, the size of each head's query, key and value; None derives it as the
            stock block does (``hidden_dim // num_heads``).
    """

    def __init__(self, intermediate_dim, num_heads, key_dim=None, **kwargs):
        super().__init__(intermediate_dim, num_heads, **kwargs)
        self.key_dim = validate_positive_int(key_dim, "key_dim", type(self).__name__,
                                             allow_none=True, example=64)

    def get_config(self):
        config = super().get_config()
        config["key_dim"] = self.key_dim
        return config


@neuronselect_export
class HeadPrunedTransformerDecoder(_ExplicitHeads, keras_hub.layers.TransformerDecoder):
    """``keras_hub.layers.TransformerDecoder`` whose attentions have heads of ``key_dim`` each:
    ``num_heads`` in the self-attention, ``cross_attention_num_heads`` in the cross-attention.

    Args:
        intermediate_dim, num_heads, ...: as ``keras_hub.layers.TransformerDecoder``.
        key_dim: int, the size of each head's query, key and value in both attentions; None
            derives it as the stock block does (``hidden_dim // num_heads``).
        cross_attention_num_heads: int, the cross-attention's heads; None means ``num_heads``.
    """

    def __init__(self, intermediate_dim, num_heads, key_dim=None, cross_attention_num_heads=None,
                 **kwargs):
        # The stock constructor builds the block when the config holds its input shapes, which
        # needs the sizes below: the shapes are held back and the block is built here instead.
        decoder_shape = kwargs.pop("decoder_sequence_shape", None)
        encoder_shape = kwargs.pop("encoder_sequence_shape", None)
        super().__init__(intermediate_dim, num_heads, **kwargs)
        owner = type(self).__name__
        self.key_dim = validate_positive_int(key_dim, "key_dim", owner, allow_none=True,
                                             example=64)
        self.cross_attention_num_heads = validate_positive_int(
            cross_attention_num_heads, "cross_attention_num_heads", owner, allow_none=True,
            example=num_heads)
        if decoder_shape:
            self.build(decoder_shape, encoder_shape)

    def _heads(self, role):
        if role == "cross" and self.cross_attention_num_heads is not None:
            return self.cross_attention_num_heads
        return self.num_heads

    def get_config(self):
        config = super().get_config()
        config.update(key_dim=self.key_dim,
                      cross_attention_num_heads=self.cross_attention_num_heads)
        return config


_VIT = keras_private.hub_vit_layers()


@neuronselect_export
class HeadPrunedViTEncoderBlock(_VIT.ViTEncoderBlock):
    """KerasHub's ``ViTEncoderBlock`` whose attention has ``num_heads`` heads of ``key_dim``
    each (the stock block derives ``hidden_dim // num_heads``, and its ``build`` reads the
    attribute this sets).

    Args:
        num_heads, hidden_dim, mlp_dim, ...: as KerasHub's ``ViTEncoderBlock``.
        key_dim: int, the size of each head's query, key and value; None derives it as the
            stock block does.
    """

    def __init__(self, num_heads, hidden_dim, mlp_dim, key_dim=None, **kwargs):
        super().__init__(num_heads, hidden_dim, mlp_dim, **kwargs)
        key_dim = validate_positive_int(key_dim, "key_dim", type(self).__name__,
                                        allow_none=True, example=64)
        if key_dim is not None:
            self.key_dim = key_dim  # the stock get_config already saves it


@neuronselect_export
class SavableViTPatchingAndEmbedding(_VIT.ViTPatchingAndEmbedding):
    """KerasHub's ``ViTPatchingAndEmbedding`` whose config holds its constructor's arguments
    only, so ``from_config(get_config())`` rebuilds it (keras-hub 0.32's lists ``num_patches``
    and ``num_positions``, derived values its constructor rejects, and omits
    ``use_patch_bias`` and ``data_format``)."""

    def get_config(self):
        return patching_config(self, super().get_config())


def patching_config(layer, config):
    """``config`` (a ViT patching layer's own) without the derived sizes and with the
    arguments the stock ``get_config`` leaves out, read from ``layer``."""
    config = {k: v for k, v in config.items() if k not in ("num_patches", "num_positions")}
    config.update(use_patch_bias=layer.use_patch_bias, data_format=layer.data_format)
    return config


def stand_in(layer, config):
    """``(class, config)`` to rebuild ``layer`` from its ``config`` as: this module's class
    for a stock ViT block or patching layer (the stock ones cannot be rebuilt from their own
    config), else ``(type(layer), config)``."""
    if type(layer) is _VIT.ViTPatchingAndEmbedding:
        return SavableViTPatchingAndEmbedding, patching_config(layer, config)
    if type(layer) is _VIT.ViTEncoderBlock:
        return HeadPrunedViTEncoderBlock, config
    return type(layer), config


_PRUNED = {keras_hub.layers.TransformerEncoder: HeadPrunedTransformerEncoder,
           keras_hub.layers.TransformerDecoder: HeadPrunedTransformerDecoder,
           HeadPrunedTransformerEncoder: HeadPrunedTransformerEncoder,
           HeadPrunedTransformerDecoder: HeadPrunedTransformerDecoder,
           _VIT.ViTEncoderBlock: HeadPrunedViTEncoderBlock,
           HeadPrunedViTEncoderBlock: HeadPrunedViTEncoderBlock}


def head_pruned_class(cls):
    """The class that rebuilds a block of class ``cls`` with fewer heads of the same size."""
    if cls not in _PRUNED:
        names = ", ".join(sorted(c.__name__ for c in _PRUNED))
        raise TypeError(
            f"head_pruned_class: expected one of the classes {names}. Received: {cls!r}. How "
            "to fix: pass the class of a KerasHub TransformerEncoder, TransformerDecoder or "
            "ViTEncoderBlock (other blocks keep their heads).")
    return _PRUNED[cls]
