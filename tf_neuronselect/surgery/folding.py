"""Exact folds: constants of removed inputs into a consumer's bias, and a Gate's (or a
TriStateReLU's) per-channel scale into a neighbouring kernel."""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.analysis.unit_slicer import UnitSlicer
from tf_neuronselect.layers import gating
from tf_neuronselect.utils.arrays import to_numpy

HOMOGENEOUS = ("linear", "relu")  # act(g * z) == g * act(z) for g >= 0


def bias_fold(layer, keep_in, constants_in):
    """What ``layer``'s bias must gain when only inputs ``keep_in`` stay and every removed
    input channel i emits ``constants_in[i]`` (NaN: unused, its rows are zero). Full length
    over the original output units, or None when nothing needs folding."""
    spec = grouping.unit_spec(layer)
    if spec.layout == grouping.DEPTHWISE and not spec.depthwise:
        return None  # its removed inputs take their outputs with them
    values = np.nan_to_num(np.asarray(constants_in, dtype=np.float64))
    values[keep_in] = 0.0
    if not values.any():
        return None
    kernel = to_numpy(grouping.weight_of(layer, spec.kernel))
    if spec.depthwise:
        depthwise = to_numpy(grouping.weight_of(layer, spec.depthwise))
        values = grouping.constant_response(depthwise, grouping.DEPTHWISE, values)
    return grouping.constant_response(kernel, spec.layout, values)


def fold_target(graph, node):
    """Where a gate's scale can go exactly: ``("producer", layer)``, ``("consumers",
    [layers])`` or ``(None, reason)``."""
    key_in, key_out = graph.input_keys_of(node)[0], graph.output_keys_of(node)[0]
    producer = graph.operations[key_in[0]] if key_in[1] == 0 else None
    if (_is_unit_layer(producer) and key_in not in graph.output_keys
            and len(graph.consumers_of(key_in)) == 1
            and getattr(producer.activation, "__name__", "") in HOMOGENEOUS):
        return "producer", producer
    consumers = [n.operation for n in graph.consumers_of(key_out)]
    if consumers and key_out not in graph.output_keys and all(map(_is_unit_layer, consumers)):
        return "consumers", consumers
    return None, ("its producer is not a Dense/Conv with linear or relu activation read only "
                  "by it, and its consumers are not all Dense/Conv layers")


def _is_unit_layer(layer):
    return layer is not None and isinstance(get_slicer(layer), UnitSlicer)
