"""KerasHub's composite layers that the rewriter can read, registered on first use.

keras_hub is optional: nothing here imports it until the registry meets a layer whose class is
defined in keras_hub, so the package is installed and already loaded by then. KerasHub layers
without a slicer here are unknown layers like any other: copied unchanged when no removable
channel reaches them, refused by name otherwise.
"""

from tf_neuronselect.analysis.hub_gemma import GemmaBlockSlicer
from tf_neuronselect.analysis.hub_transformer import FeedForwardBlockSlicer


def is_hub_class(cls):
    """Whether ``cls`` is defined in keras_hub."""
    return getattr(cls, "__module__", "").split(".")[0] == "keras_hub"


def hub_slicers():
    """``{KerasHub layer class: slicer}``."""
    import keras_hub  # noqa: PLC0415 (optional dependency: see the module docstring)
    # Not exported by keras_hub: its module path is the one of the pinned keras-hub 0.32.
    from keras_hub.src.models.gemma.gemma_decoder_block import GemmaDecoderBlock  # noqa: PLC0415

    return {
        keras_hub.layers.TransformerEncoder: FeedForwardBlockSlicer(["self_attention_layer"]),
        keras_hub.layers.TransformerDecoder: FeedForwardBlockSlicer(["self_attention",
                                                                      "cross_attention"]),
        GemmaDecoderBlock: GemmaBlockSlicer(),
    }
