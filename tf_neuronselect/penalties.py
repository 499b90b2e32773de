"""Attach a penalty to the kernels of a built model, with each layer's own kernel layout."""

import keras

from tf_neuronselect import grouping


def _for_layout(penalty, layout):
    config = penalty.get_config()
    if "layout" not in config:
        return type(penalty).from_config(config)
    return type(penalty).from_config({**config, "layout": layout})


def _selected_layers(model, layers):
    if layers is None:
        return [layer for layer in model._flatten_layers(include_self=False)
                if grouping.unit_spec(layer) is not None]
    if isinstance(layers, str):
        raise TypeError(
            "add_penalty: expected `layers` to be a list of layer names or layers. "
            f"Received the string {layers!r}; pass [{layers!r}] instead."
        )
    return [model.get_layer(name) if isinstance(name, str) else name for name in layers]


def add_penalty(model, penalty, layers=None):
    """Puts a copy of ``penalty`` on the unit kernel of each selected layer of ``model``.

    Each copy gets the layer's kernel layout (``"transposed"`` for ConvTranspose,
    ``"depthwise"`` for DepthwiseConv, the pointwise kernel of SeparableConv), so one call
    regularizes a whole network correctly. The layer's ``*_regularizer`` attribute is set too, so
    the penalty is saved with the model. Call it before ``model.compile``.

    Args:
        model: a built Keras model.
        penalty: a ``keras.regularizers.Regularizer``, typically a tf_neuronselect penalty.
        layers: names or layer objects to regularize; None means every layer with a known
            per-unit grouping (see ``tf_neuronselect.grouping``).

    Returns:
        The list of layer names that received the penalty.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"add_penalty: expected a keras.Model. Received: model={model!r}.")
    if not isinstance(penalty, keras.regularizers.Regularizer):
        raise TypeError(
            "add_penalty: expected `penalty` to be a keras.regularizers.Regularizer such as "
            f"tf_neuronselect.GroupLasso(1e-3). Received: penalty={penalty!r}."
        )
    names = []
    for layer in _selected_layers(model, layers):
        spec = grouping.require_unit_spec(layer)
        if not layer.built:
            raise ValueError(f"add_penalty: layer '{layer.name}' is not built; build the model first.")
        copy = _for_layout(penalty, spec.layout)
        getattr(layer, spec.kernel).regularizer = copy
        setattr(layer, spec.regularizer, copy)
        names.append(layer.name)
    return names
