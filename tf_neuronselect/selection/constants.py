"""Forward pass over constants: what each tensor channel emits when it does not depend on the
input (NaN when it does). Dead units are the sources; layers transform the constants, and some
make new ones (a BatchNorm whose gamma is 0, a product with a zero factor, a closed gate): where
a constant is born, the rule that made it is recorded, so ``report`` can say why a unit went."""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.graph import channel_count
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.analysis.slicers import apply_activation
from tf_neuronselect.utils.arrays import to_numpy


def propagate_constants(graph, statuses):
    """``(constants, born)``: tensor key -> float array of per-channel constants (NaN: not
    constant), and tensor key -> ``{channel: reason}`` for the channels a node made constant
    although what it read there was not (dead units included)."""
    constants, born = {}, {}
    for node in graph.nodes:
        outputs = graph.output_keys_of(node)
        sizes = [channel_count(graph.shapes[k]) for k in outputs]
        values = _node_constant(graph, node, statuses, constants)
        for key, size in zip(outputs, sizes):
            if size is not None:
                constants[key] = values if len(outputs) == 1 and values is not None \
                    and len(values) == size else np.full(size, np.nan)
        if len(outputs) == 1 and outputs[0] in constants:
            born[outputs[0]] = _born_here(graph, node, statuses, constants)
    return constants, born


def _born_here(graph, node, statuses, constants):
    """``{channel: reason}`` of the output channels of ``node`` that are constant although the
    input channel they come from is not (channel c from channel c of every input)."""
    operation = node.operation
    key_out = graph.output_keys_of(node)[0]
    status = statuses.get(getattr(operation, "name", None))
    finite = np.isfinite(constants[key_out])
    if status is not None and len(status.dead) == len(finite):
        return {int(j): f"{status.reasons[j]} in '{operation.name}'"
                for j in np.flatnonzero(finite & status.dead)}
    inputs = [constants.get(k) for k in graph.input_keys_of(node)]
    if not inputs or any(v is None or len(v) != len(finite) for v in inputs):
        return {}
    varied = np.any([np.isnan(v) for v in inputs], axis=0)
    rule = getattr(get_slicer(operation), "constant_rule", "constant output of '{name}'")
    return {int(j): rule.format(name=operation.name) for j in np.flatnonzero(finite & varied)}


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
    kernel = to_numpy(grouping.weight_of(layer, spec.kernel))
    units = grouping.num_units(kernel.shape, spec.layout)
    if slicers.mixing_activation(layer):
        return np.full(units, np.nan)  # a dead unit's softmax output still moves
    if spec.recurrent:
        # A dead recurrent unit (biases included) stays at its zero state when its activation
        # maps 0 to 0; otherwise its constant would also feed the other units: keep it.
        silent = apply_activation(layer, np.zeros(1))[0] == 0
        return np.where(status.dead & silent, 0.0, np.nan)
    bias = _bias(layer, spec, units)
    before = np.where(status.dead, bias, np.nan)
    if spec.layout == grouping.DEPTHWISE and not spec.depthwise:
        reachable = np.isfinite(inputs) & ((inputs == 0) | (layer.padding == "valid"))
        response = grouping.constant_response(kernel, spec.layout, np.nan_to_num(inputs))
        live = np.repeat(reachable, kernel.shape[-1])
        before = np.where(status.dead, bias, np.where(live, response + bias, np.nan))
    return apply_activation(layer, before)


def _bias(layer, spec, units):
    bias = grouping.weight_of(layer, spec.bias)
    return np.zeros(units) if bias is None else to_numpy(bias).astype(np.float64)
