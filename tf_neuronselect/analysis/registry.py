"""Layer class -> slicer. Lookup is by exact class: a subclass may compute something else, so
it must be registered explicitly rather than guessed."""

import keras

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.unit_slicer import UnitSlicer
from tf_neuronselect.layers.gating import GATE_LAYERS

L = keras.layers
_ELEMENTWISE = (L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.PReLU, L.BatchNormalization,
                L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D,
                L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization,
                L.Identity)
_SAME = (L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D,
         L.AveragePooling2D, L.AveragePooling3D, L.GlobalMaxPooling1D, L.GlobalMaxPooling2D,
         L.GlobalMaxPooling3D, L.GlobalAveragePooling1D, L.GlobalAveragePooling2D,
         L.GlobalAveragePooling3D, L.Cropping1D, L.Cropping2D, L.Cropping3D, L.UpSampling1D,
         L.UpSampling2D, L.UpSampling3D)
_ZERO = (L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D)
_MERGE = (L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum)
_MIXING = (L.Softmax, L.LayerNormalization, L.GroupNormalization, L.UnitNormalization,
           L.Permute, L.RepeatVector)

_SLICERS = {}


def _register_defaults():
    table = [(_ELEMENTWISE, slicers.Elementwise()), (_SAME, slicers.SameConstant()),
             (_ZERO, slicers.ZeroConstant()), (_MERGE, slicers.MergeSlicer()),
             (_MIXING, slicers.PinnedSlicer()), (GATE_LAYERS, slicers.GateLike()),
             ((L.Concatenate,), slicers.ConcatenateSlicer()),
             ((L.Flatten,), slicers.FlattenSlicer()), ((L.Reshape,), slicers.ReshapeSlicer()),
             ((L.InputLayer,), slicers.InputSlicer())]
    for classes, slicer in table:
        for cls in classes:
            _SLICERS[cls] = slicer


_register_defaults()


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
    if slicer is None and isinstance(operation, keras.layers.Layer):
        if grouping.is_grouped_convolution(operation):
            return _GROUPED_SLICER  # mixes channels within each group: copied unchanged
        if grouping.unit_spec(operation) is not None:
            return _UNIT_SLICER
    return slicer


_UNIT_SLICER = UnitSlicer()
_GROUPED_SLICER = slicers.PinnedSlicer()
