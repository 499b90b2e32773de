"""A penalty on the unit kernel of every selected layer, with each layer's own kernel layout."""

import keras

from tf_neuronselect import grouping
from tf_neuronselect.utils import keras_private


def _for_layout(penalty, layout):
    config = penalty.get_config()
    if "layout" not in config:
        return type(penalty).from_config(config)
    return type(penalty).from_config({**config, "layout": layout})


def _selected_layers(model, layers):
    check_layer_list(layers)
    if layers is None:
        return [layer for layer in keras_private.own_layers(model)
                if not grouping.is_grouped_convolution(layer)
                and grouping.unit_spec(layer) is not None]
    return [model_layer(model, item) for item in layers]


def check_layer_list(layers):
    if isinstance(layers, str):
        raise TypeError(
            "add_penalty: expected `layers` to be a list of layer names or layers. "
            f"Received the string {layers!r}; pass [{layers!r}] instead."
        )


def model_layer(model, item):
    """``item`` (a layer name or a layer object) as one of ``model``'s own layers."""
    own = list(keras_private.own_layers(model))
    if isinstance(item, str):
        found = [layer for layer in own if layer.name == item]
        if found:
            return found[0]
        received = f"the name {item!r}"
    elif any(layer is item for layer in own):
        return item
    else:
        received = f"{type(item).__name__} {getattr(item, 'name', item)!r}"
    names = ", ".join(repr(layer.name) for layer in own)
    raise ValueError(
        f"add_penalty: expected `layers` to name layers of model '{model.name}'. Received: "
        f"{received}, which is not one of its layers. Pass names from: {names}."
    )


def add_kernel_penalties(model, penalty, layers=None):
    """Puts a copy of ``penalty`` on the unit kernel of each selected layer of ``model`` (see
    ``add_penalty``); returns the names of those layers."""
    names = []
    for layer in _selected_layers(model, layers):
        spec = grouping.require_unit_spec(layer)
        check_built(layer)
        copy = _for_layout(penalty, spec.layout)
        grouping.weight_of(layer, spec.kernel).regularizer = copy
        grouping.set_attribute(layer, spec.regularizer, copy)
        names.append(layer.name)
    return names


def check_built(layer):
    if not layer.built:
        raise ValueError(
            f"add_penalty: expected built layers (their kernels must exist). Received: "
            f"layer '{layer.name}' is not built. Build the model first: start it with "
            "keras.Input(shape=...) or call model.build(input_shape)."
        )
