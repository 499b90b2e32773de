"""Parameter and multiply-add (MAC) counts: the one MAC counter of the library.

A layer with a known unit layout (stock Dense, Conv*, ConvTranspose, DepthwiseConv,
SeparableConv, grouped convolutions included, and classes declared with
``grouping.register_unit_spec``) costs one multiply-add per kernel weight use; attention and
the composite blocks whose slicer counts its own (``internal_macs``: KerasHub's transformer and
Gemma blocks) count their projections and score products; every other layer (bias additions,
activations, normalization, pooling, element-wise ops) counts 0: they are small next to the
matrix products and their cost depends on the runtime's fusion. ``make_plan``
counts the layers of a plan before and after narrowing with ``layer_macs``; ``count_macs``
counts a whole model, nested models flattened and shared layers once per call.
"""

import math

import keras

from tf_neuronselect import grouping
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.utils import keras_private


def params_of(layer):
    """Parameters a layer holds (trainable or not), as ``count_params`` counts them."""
    return int(sum(math.prod(int(d) for d in w.shape) for w in getattr(layer, "weights", [])))


def _positions(layer, shape):
    """Spatial positions of a tensor of ``shape`` (batch and channel axes left out)."""
    if len(shape) <= 2:
        return 1
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    spatial = shape[2:] if channels_first else shape[1:-1]
    return math.prod(int(d) for d in spatial if d is not None)  # unknown: per position


def layer_macs(layer, input_shape, output_shape, kept_in=None, kept_out=None):
    """Multiply-adds per example of one call of ``layer`` from ``input_shape`` to
    ``output_shape``, with ``kept_in`` input channels and ``kept_out`` output units (None: all
    of them; for attention, ``kept_out`` is the heads kept). A block whose slicer counts its
    own (``internal_macs``) is counted whole. 0 for layers without a known unit layout."""
    if isinstance(layer, (keras.layers.MultiHeadAttention, keras.layers.GroupQueryAttention)):
        return attention_macs(layer, input_shape, output_shape, kept_out)
    internal_macs = getattr(get_slicer(layer), "internal_macs", None)
    if internal_macs is not None:  # a KerasHub block counts its own (all of its units)
        return internal_macs(layer, input_shape, output_shape)
    spec = grouping.layout_spec(layer)
    if spec is None or not spec.reads:  # an Embedding looks rows up: no multiply-adds
        return 0
    kernel = tuple(int(d) for d in grouping.weight_of(layer, spec.kernel).shape)
    if spec.recurrent:
        return _recurrent_macs(spec, kernel, input_shape, kept_in, kept_out)
    spatial, rows, columns = math.prod(kernel[:-2]), kernel[-2], kernel[-1]
    if spec.layout == grouping.TRANSPOSED:
        rows, columns = columns, rows  # (..., out, in): count as (in, out)
    units = rows * columns if spec.layout == grouping.DEPTHWISE else columns
    kept_out = units if kept_out is None else kept_out
    if spec.layout == grouping.DEPTHWISE:
        return _positions(layer, output_shape) * spatial * kept_out
    if spec.depthwise:
        return _separable_macs(layer, spec, output_shape, kept_in, kept_out)
    kept_in = rows if kept_in is None else kept_in
    shape = input_shape if spec.layout == grouping.TRANSPOSED else output_shape
    return _positions(layer, shape) * spatial * kept_in * kept_out


def attention_macs(layer, query_shape, output_shape, kept_heads=None):
    """Projections, scores and the weighted sum of self-attention (keys and values as long as
    the queries), with ``kept_heads`` heads (key/value heads for grouped-query attention)."""
    grouped = isinstance(layer, keras.layers.GroupQueryAttention)
    kv_heads = layer.num_key_value_heads if grouped else layer.num_heads
    shared = layer.num_query_heads // kv_heads if grouped else 1
    kv_heads = kv_heads if kept_heads is None else kept_heads
    key_dim = layer.head_dim if grouped else layer.key_dim
    value_dim = layer.head_dim if grouped else (layer.value_dim or layer.key_dim)
    steps = _positions(layer, query_shape) or 1
    dim, out = int(query_shape[-1]), int(output_shape[-1])
    q_heads = kv_heads * shared
    projections = steps * dim * (q_heads * key_dim + kv_heads * (key_dim + value_dim))
    mixing = steps * steps * q_heads * (key_dim + value_dim)
    return projections + mixing + steps * q_heads * value_dim * out


def _recurrent_macs(spec, kernel, input_shape, kept_in, kept_out):
    """Every time step multiplies the input by the kernel and the state by the recurrent
    kernel, for every gate."""
    gates = grouping.GATES.get(spec.layout, 1)
    kept_in = kernel[0] if kept_in is None else kept_in
    kept_out = kernel[1] // gates if kept_out is None else kept_out
    steps = int(input_shape[1]) if len(input_shape) == 3 and input_shape[1] else 1
    return steps * gates * kept_out * (kept_in + kept_out)


def _separable_macs(layer, spec, output_shape, kept_in, kept_out):
    depthwise = tuple(int(d) for d in grouping.weight_of(layer, spec.depthwise).shape)
    spatial, channels, multiplier = math.prod(depthwise[:-2]), depthwise[-2], depthwise[-1]
    kept_in = channels if kept_in is None else kept_in
    middle = kept_in * multiplier
    return _positions(layer, output_shape) * middle * (spatial + kept_out)


def model_layer_macs(model):
    """``[(layer, macs), ...]`` over every call of every layer, nested models flattened."""
    functional = keras_private.graph_model(model)
    if functional is None:
        raise TypeError(
            "count_macs: expected a built Functional or Sequential keras.Model. Received: "
            f"{type(model).__name__} '{getattr(model, 'name', model)}', whose layer graph "
            "cannot be read. Rebuild it with keras.Model(inputs, outputs) or keras.Sequential "
            "starting with keras.Input(shape)."
        )
    counts = []
    for node in keras_private.nodes_in_order(functional):
        operation = node.operation
        if isinstance(operation, keras.Model):
            counts.extend(model_layer_macs(operation))
        elif node.input_tensors:
            macs = layer_macs(operation, tuple(node.input_tensors[0].shape),
                              tuple(node.outputs[0].shape))
            counts.append((operation, macs))
    return counts


def count_macs(model):
    """The multiply-adds of one forward pass of one sample through ``model``.

    Example: ``Dense(300)`` on 784 features counts 784 * 300; ``Conv2D(20, 5)`` on a 28x28x1
    input with 'valid' padding counts 24 * 24 * 20 * 25.
    """
    return sum(macs for _, macs in model_layer_macs(model))
