"""Multiply-add (MAC) counts of a Functional or Sequential model, from its static shapes.

Counted: Dense, Conv1D/2D/3D (grouped too), DepthwiseConv1D/2D, SeparableConv1D/2D and
Conv1D/2D/3DTranspose, one multiply-add per weight use. Bias additions, activations,
normalization, pooling and element-wise layers count 0: they are small next to the matrix
products and their cost depends on the runtime's fusion. Nested models are counted through their
own layers; a layer called several times counts once per call.
"""

import math

import keras

_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)
_TRANSPOSE = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)


def count_macs(model):
    """Returns the multiply-adds of one forward pass of one sample through ``model``.

    Example: ``Dense(300)`` on 784 features counts 784 * 300; ``Conv2D(20, 5)`` on a 28x28x1
    input with 'valid' padding counts 24 * 24 * 20 * 25.
    """
    return sum(macs for _, macs in layer_macs(model))


def layer_macs(model):
    """Returns ``[(layer, macs), ...]`` over every call of every layer, nested models flattened."""
    counts = []
    for node in model_nodes(model):
        operation = node.operation
        if isinstance(operation, keras.Model):
            counts.extend(layer_macs(operation))
        elif node.input_tensors:
            counts.append((operation, node_macs(operation, node)))
    return counts


def model_nodes(model):
    """The nodes of ``model``'s own graph (not of other models that share its layers)."""
    functional = getattr(model, "_functional", None) or model
    nodes_by_depth = getattr(functional, "_nodes_by_depth", None)
    if nodes_by_depth is None:
        raise TypeError(
            "count_macs: expected a built Functional or Sequential keras.Model. Received: "
            f"{type(model).__name__} '{getattr(model, 'name', model)}', whose layer graph "
            "cannot be read. Rebuild it with keras.Model(inputs, outputs) or keras.Sequential "
            "starting with keras.Input(shape)."
        )
    depths = sorted(nodes_by_depth, reverse=True)
    return [node for depth in depths for node in nodes_by_depth[depth]]


def node_macs(layer, node):
    """MACs of one call of ``layer``; 0 for layer types that are not counted."""
    input_shape = tuple(node.input_tensors[0].shape)
    output_shape = tuple(node.outputs[0].shape)
    if isinstance(layer, keras.layers.Dense):
        return _prod(output_shape[1:-1]) * input_shape[-1] * layer.units
    if isinstance(layer, _SEPARABLE + _DEPTHWISE + _CONV + _TRANSPOSE):
        return _conv_macs(layer, input_shape, output_shape)
    return 0


def _conv_macs(layer, input_shape, output_shape):
    channels_first = layer.data_format == "channels_first"
    in_channels = input_shape[1] if channels_first else input_shape[-1]
    in_positions = _prod(input_shape[2:] if channels_first else input_shape[1:-1])
    out_positions = _prod(output_shape[2:] if channels_first else output_shape[1:-1])
    kernel = _prod(layer.kernel_size)
    if isinstance(layer, _SEPARABLE):
        depthwise = out_positions * kernel * in_channels * layer.depth_multiplier
        return depthwise + out_positions * in_channels * layer.depth_multiplier * layer.filters
    if isinstance(layer, _DEPTHWISE):
        return out_positions * kernel * in_channels * layer.depth_multiplier
    if isinstance(layer, _TRANSPOSE):
        # Every input position scatters one kernel-sized patch to every filter.
        return in_positions * kernel * in_channels * layer.filters
    return out_positions * kernel * (in_channels // layer.groups) * layer.filters


def _prod(values):
    return math.prod(int(v) for v in values)
