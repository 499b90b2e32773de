"""Forward pass over constants: what each tensor channel emits when it does not depend on the
input (NaN when it does). Dead units are the sources; layers transform the constants."""

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.graph import channel_count
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.utils.arrays import to_numpy


def propagate_constants(graph, statuses):
    """Tensor key -> float array of per-channel constants (NaN: not constant)."""
    constants = {}
    for node in graph.nodes:
        outputs = graph.output_keys_of(node)
        sizes = [channel_count(graph.shapes[k]) for k in outputs]
        values = _node_constant(graph, node, statuses, constants)
        for key, size in zip(outputs, sizes):
            if size is not None:
                constants[key] = values if len(outputs) == 1 and values is not None \
                    and len(values) == size else np.full(size, np.nan)
    return constants


def _node_constant(graph, node, statuses, constants):
    operation = node.operation
    slicer = get_slicer(operation)
    inputs = graph.input_keys_of(node)
    if node.is_input or slicer is None or any(k not in constants for k in inputs):
        return None
    role = slicer.role(operation)
    if role == slicers.UNITS:
        return unit_constant(operation, statuses[operation.name], constants[inputs[0]])
    if role in (slicers.PINNED, slicers.INPUT):
        return None
    shapes = [graph.shapes[k] for k in inputs]
    return slicer.constant(operation, [constants[k] for k in inputs], shapes)


def unit_constant(layer, status, inputs):
    """Output constants of a Dense/Conv-like layer: ``act(bias)`` for dead units; for a
    DepthwiseConv also ``act(c * sum(kernel) + bias)`` when its input channel is the constant
    c and no zero padding can reach it."""
    spec = grouping.unit_spec(layer)
    kernel = to_numpy(getattr(layer, spec.kernel))
    units = grouping.num_units(kernel.shape, spec.layout)
    if slicers.mixing_activation(layer):
        return np.full(units, np.nan)  # a dead unit's softmax output still moves
    bias = _bias(layer, spec, units)
    before = np.where(status.dead, bias, np.nan)
    if spec.layout == grouping.DEPTHWISE and not spec.depthwise:
        reachable = np.isfinite(inputs) & ((inputs == 0) | (layer.padding == "valid"))
        response = grouping.constant_response(kernel, spec.layout, np.nan_to_num(inputs))
        live = np.repeat(reachable, kernel.shape[-1])
        before = np.where(status.dead, bias, np.where(live, response + bias, np.nan))
    return apply_activation(layer, before)


def _bias(layer, spec, units):
    bias = getattr(layer, spec.bias, None) if spec.bias else None
    return np.zeros(units) if bias is None else to_numpy(bias).astype(np.float64)


def apply_activation(layer, values):
    """``layer.activation`` applied to ``values``; NaN entries stay NaN."""
    activation = getattr(layer, "activation", None)
    if activation is None:
        return values
    tensor = keras.ops.convert_to_tensor(np.nan_to_num(values).astype("float32"))
    out = to_numpy(activation(tensor)).astype(np.float64)
    out[np.isnan(values)] = np.nan
    return out
