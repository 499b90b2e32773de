"""Layer class -> slicer. Lookup is by exact class: a subclass may compute something else, so
it must be registered explicitly rather than guessed."""

import keras

from tf_neuronselect import grouping
from tf_neuronselect.analysis import hub
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.attention import AttentionSlicer
from tf_neuronselect.analysis.attention import GatedAttentionSlicer
from tf_neuronselect.analysis.op_slicers import op_slicers
from tf_neuronselect.analysis.unit_slicer import UnitSlicer
from tf_neuronselect.layers.gated_attention import GatedMultiHeadAttention
from tf_neuronselect.layers.gating import GATE_LAYERS
from tf_neuronselect.utils import keras_private

L = keras.layers
_ELEMENTWISE = (L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.PReLU, L.Dropout,
                L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D, L.GaussianNoise,
                L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization, L.Identity,
                L.Rescaling, L.Normalization)
_SAME = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D,
         L.AveragePooling2D, L.AveragePooling3D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D,
         L.GlobalMaxPooling3D, L.GlobalAveragePooling1D, L.GlobalAveragePooling2D,
         L.GlobalAveragePooling3D, L.Cropping1D, L.Cropping2D, L.Cropping3D, L.UpSampling1D,
         L.UpSampling2D, L.UpSampling3D)
_ZERO = (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)
_MERGE = (L.Add, L.Subtract, L.Average, L.Maximum, L.Minimum)
_MIXING = (L.Softmax, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
           L.Permute, L.RepeatVector)

_SLICERS = {}
_hub_registered = False


def _register_defaults():
    table = [(_ELEMENTWISE, slicers.Elementwise()), (_SAME, slicers.SameConstant()),
             (_ZERO, slicers.ZeroConstant()), (_MERGE, slicers.MergeSlicer()),
             ((L.Multiply,), slicers.ProductSlicer()),
             (_MIXING, slicers.PinnedSlicer()), (GATE_LAYERS, slicers.GateLike()),
             ((L.Concatenate,), slicers.ConcatenateSlicer()),
             ((L.Flatten,), slicers.FlattenSlicer()), ((L.Reshape,), slicers.ReshapeSlicer()),
             ((L.InputLayer,), slicers.InputSlicer()),
             ((L.BatchNormalization,), slicers.BatchNormSlicer()),
             ((L.MultiHeadAttention, L.GroupQueryAttention), AttentionSlicer()),
             ((GatedMultiHeadAttention,), GatedAttentionSlicer())]
    for classes, slicer in table:
        for cls in classes:
            _SLICERS[cls] = slicer
    _SLICERS.update(op_slicers())
    _register_applications_layers()


def _register_applications_layers():
    # keras.applications' own layers: ConvNeXt's per-channel LayerScale, and Inception-ResNet's
    # `inputs[0] + inputs[1] * scale` (a merge with a constant factor).
    layer_scale = keras_private.application_layer("convnext", "LayerScale")
    if layer_scale is not None:
        _SLICERS[layer_scale] = slicers.Scale("gamma", size_key="projection_dim")
    custom_scale = keras_private.application_layer("inception_resnet_v2", "CustomScaleLayer")
    if custom_scale is not None:
        _SLICERS[custom_scale] = slicers.MergeSlicer()


_register_defaults()


def _register_hub_layers():
    # On the first KerasHub layer met, not at import: keras_hub is optional. A slicer the user
    # registered for the same class wins.
    global _hub_registered
    _hub_registered = True
    for cls, slicer in hub.hub_slicers().items():
        _SLICERS.setdefault(cls, slicer)


def register_slicer(layer_class, slicer):
    """Declares how ``layer_class`` (exact class) is narrowed: ``slicer`` provides ``role``,
    ``constant``, ``config`` and ``weights`` (subclass ``tf_neuronselect.surgery.Slicer``)."""
    if not isinstance(layer_class, type) or not issubclass(layer_class, keras.layers.Layer):
        raise TypeError(
            "register_slicer: expected a keras.layers.Layer subclass. "
            f"Received: layer_class={layer_class!r}."
        )
    for method in ("role", "constant", "config", "weights"):
        if not callable(getattr(slicer, method, None)):
            raise TypeError(
                f"register_slicer: expected a slicer with a `{method}` method. Received: "
                f"{slicer!r}. How to fix: subclass tf_neuronselect.surgery.Slicer."
            )
    _SLICERS[layer_class] = slicer


def get_slicer(operation):
    """The slicer of ``operation``, or None when its channel semantics are unknown."""
    slicer = _SLICERS.get(type(operation))
    if slicer is None and not _hub_registered and hub.is_hub_class(type(operation)):
        _register_hub_layers()
        slicer = _SLICERS.get(type(operation))
    if slicer is None and isinstance(operation, keras.layers.Layer):
        if grouping.is_grouped_convolution(operation):
            # One channel per group is a depthwise convolution; larger groups mix channels.
            if slicers.is_channelwise_conv(operation):
                return _CHANNELWISE_CONV
            return _GROUPED_SLICER
        if grouping.unit_spec(operation) is not None:
            return _UNIT_SLICER
    return slicer


_UNIT_SLICER = UnitSlicer()
_GROUPED_SLICER = slicers.PinnedSlicer()
_CHANNELWISE_CONV = slicers.ChannelwiseConv()
