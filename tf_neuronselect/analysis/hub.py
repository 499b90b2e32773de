"""KerasHub's composite layers that the rewriter can read, registered on first use.

keras_hub is optional: nothing here imports it until the registry meets a layer whose class is
defined in keras_hub (or derives from one, as the blocks of layers/hub_blocks.py do), so the
package is installed and already loaded by then. KerasHub layers without a slicer here are
unknown layers like any other: copied unchanged when no removable channel reaches them, refused
by name otherwise.

ViT's encoder is read through as the layers it calls (``chain``), and the stock ViT layers,
which cannot be rebuilt from their own config, are rebuilt as this library's stand-ins
(``rebuilt_as``; see hub_vit.py and layers/hub_blocks.py).
"""

from tf_neuronselect.analysis.hub_gemma import GemmaBlockSlicer
from tf_neuronselect.analysis.hub_transformer import Attention
from tf_neuronselect.analysis.hub_transformer import TransformerBlockSlicer
from tf_neuronselect.analysis.hub_vit import ViTBlockSlicer
from tf_neuronselect.analysis.hub_vit import encoder_chain
from tf_neuronselect.utils import keras_private

_ENCODER = TransformerBlockSlicer([Attention("self_attention_layer", "heads", "num_heads")])
_DECODER = TransformerBlockSlicer([
    Attention("self_attention", "heads", "num_heads"),
    Attention("cross_attention", "cross_heads", "cross_attention_num_heads")])
_VIT_BLOCK = ViTBlockSlicer()


def is_hub_class(cls):
    """Whether ``cls`` is defined in keras_hub or derives from a class that is (a block that
    lost heads, loaded in a fresh process, may be the first KerasHub layer the registry
    meets)."""
    return any(getattr(c, "__module__", "").split(".")[0] == "keras_hub"
               for c in getattr(cls, "__mro__", ()))


def hub_slicers():
    """``{KerasHub layer class: slicer}``, this library's head-pruned blocks included."""
    import keras_hub  # noqa: PLC0415 (optional dependency: see the module docstring)
    # Not exported by keras_hub: its module path is the one of the pinned keras-hub 0.32.
    from keras_hub.src.models.gemma.gemma_decoder_block import GemmaDecoderBlock  # noqa: PLC0415

    from tf_neuronselect.layers import hub_blocks  # noqa: PLC0415 (imports keras_hub)

    vit = keras_private.hub_vit_layers()
    return {
        keras_hub.layers.TransformerEncoder: _ENCODER,
        keras_hub.layers.TransformerDecoder: _DECODER,
        hub_blocks.HeadPrunedTransformerEncoder: _ENCODER,
        hub_blocks.HeadPrunedTransformerDecoder: _DECODER,
        GemmaDecoderBlock: GemmaBlockSlicer(),
        vit.ViTEncoderBlock: _VIT_BLOCK,
        hub_blocks.HeadPrunedViTEncoderBlock: _VIT_BLOCK,
    }


def chain(operation):
    """The layers a KerasHub composite layer calls one after the other on its one input, when
    the graph reads it through (ViT's ``ViTEncoder``: exactly its class, a subclass may call
    otherwise), else None."""
    if not is_hub_class(type(operation)):
        return None
    if type(operation) is keras_private.hub_vit_layers().ViTEncoder:
        return encoder_chain(operation)
    return None


def rebuilt_as(layer, config):
    """``(class, config)`` that rebuild ``layer`` from its own ``config``: a stand-in for a
    KerasHub layer whose own class cannot be (layers/hub_blocks.py), else its own class."""
    if not is_hub_class(type(layer)):
        return type(layer), config
    from tf_neuronselect.layers import hub_blocks  # noqa: PLC0415 (imports keras_hub)

    return hub_blocks.stand_in(layer, config)
