"""The coupling rules: turns the graph into links and structural pins on ``Channels``.

A *link* ties channels that stand or fall together (a channel-preserving layer's input and
output, the operands of an Add, a Flatten's channel and its positions, a depthwise channel and
its outputs). A *structural pin* keeps channels whatever the weights say: model inputs and
outputs, layers that mix channels, operands that broadcast. What the weights decide (whether a
consumer can do without a channel) is added later by the planner, from the ``readers`` this
module records: every Dense/Conv-like node reading a tensor, and every node nobody knows how to
slice.
"""

import dataclasses

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.channels import Channels
from tf_neuronselect.analysis.graph import channel_count
from tf_neuronselect.analysis.registry import get_slicer


@dataclasses.dataclass
class Coupling:
    """The settled structure of a graph's channels.

    Attributes:
        channels: ``Channels`` with every link and structural pin (not yet settled).
        readers: ``(node, input key)`` of every Dense/Conv-like node reading a tensor whose
            channels it could lose (its kernel rows go with them).
        unknown: ``(node, input key, unregistered)`` of every node that reads a tensor and has
            no slicer (``unregistered``) or cannot be sliced there.
        selections: input-side tensor keys whose unused features may go (``prune_inputs``).
    """

    channels: Channels
    readers: list
    unknown: list
    selections: list


def couple(graph, selections=()):
    """The ``Coupling`` of every channel of ``graph``. ``selections`` (from
    ``input_selections``) are the input-side tensors whose unused features may go; every other
    model input keeps all its channels."""
    channels = Channels()
    for key, shape in graph.shapes.items():
        if channel_count(shape) is not None:
            channels.add(key, channel_count(shape))
    for key in graph.input_keys:
        if key not in selections:
            pin_all(channels, key, "model input")
    for key in graph.output_keys:
        pin_all(channels, key, "feeds a model output")
    coupling = Coupling(channels, [], [], list(selections))
    for node in graph.nodes:
        if not node.is_input:
            _couple_node(graph, node, coupling)
    return coupling


def input_selections(graph):
    """Tensor keys where ``shrink(..., prune_inputs=True)`` may drop features: the output of
    every Flatten that reads a model input directly (its flattened features; the input itself
    then stays whole), else the model input itself (its last axis)."""
    selections = []
    for key in graph.input_keys:
        if channel_count(graph.shapes[key]) is None:
            continue
        flattens = [n for n in graph.consumers_of(key) if _is_flatten(n)]
        if not flattens:
            selections.append(key)
        for node in flattens:
            out = graph.output_keys_of(node)[0]
            if channel_count(graph.shapes[out]) is not None:
                selections.append(out)
    return selections


def _is_flatten(node):
    slicer = get_slicer(node.operation)
    return (slicer is not None and len(node.outputs) == 1
            and slicer.role(node.operation) == slicers.FLATTEN)


def pin_all(channels, key, reason):
    """Pins every channel of tensor ``key`` (if it has channels) with ``reason``."""
    if key in channels.removable:
        channels.pin(key, slice(None), reason)


def _couple_node(graph, node, coupling):
    operation, slicer = node.operation, get_slicer(node.operation)
    inputs, outputs = graph.input_keys_of(node), graph.output_keys_of(node)
    channels = coupling.channels
    known = all(k in channels.removable for k in inputs + outputs)
    if slicer is None or not known or len(outputs) != 1:
        _couple_unknown(node, inputs, outputs, coupling, slicer is None)
        return
    role = slicer.role(operation)
    if role == slicers.UNITS:
        _couple_unit_layer(node, operation, inputs[0], outputs[0], coupling)
    elif role in (slicers.CHANNELWISE, slicers.MERGE):
        _link_elementwise(operation, inputs, outputs[0], channels)
    elif role == slicers.CONCATENATE:
        _link_concatenate(inputs, outputs[0], channels)
    elif role == slicers.FLATTEN and outputs[0] not in coupling.selections:
        _link_flatten(inputs[0], outputs[0], channels)
    elif role != slicers.FLATTEN:  # a selected Flatten's features go on their own
        reason = f"'{operation.name}' ({type(operation).__name__}) mixes channels"
        for key in inputs + outputs:
            pin_all(channels, key, reason)


def _couple_unknown(node, inputs, outputs, coupling, unregistered):
    name = f"'{node.operation.name}' ({type(node.operation).__name__})"
    for key in outputs:
        pin_all(coupling.channels, key, f"produced by {name}, which has no slicer")
    for key in inputs:
        if key in coupling.channels.removable:
            coupling.unknown.append((node, key, unregistered))


def _couple_unit_layer(node, layer, key_in, key_out, coupling):
    spec = grouping.unit_spec(layer)
    channels = coupling.channels
    if spec.layout == grouping.DEPTHWISE and not spec.depthwise:
        multiplier = grouping.weight_of(layer, spec.kernel).shape[-1]
        size = len(channels.removable[key_in])
        channels.link(key_in, np.repeat(np.arange(size), multiplier), key_out,
                      np.arange(size * multiplier))
        return
    if not spec.reads:
        pin_all(channels, key_in, f"read by '{layer.name}' as indices, not channels")
    else:
        coupling.readers.append((node, key_in))
    activation = slicers.mixing_activation(layer)
    if activation:
        # Every unit's output depends on all the others: removing one changes the rest.
        pin_all(channels, key_out,
                f"'{layer.name}' has a {activation} activation, which mixes its units")


def _link_elementwise(operation, inputs, key_out, channels):
    size = len(channels.removable[key_out])
    for key in inputs:
        width = len(channels.removable[key])
        if width == size:
            channels.link(key, np.arange(size), key_out, np.arange(size))
        else:
            pin_all(channels, key, f"broadcast operand of '{operation.name}'")


def _link_concatenate(inputs, key_out, channels):
    offset = 0
    for key in inputs:
        width = len(channels.removable[key])
        channels.link(key, np.arange(width), key_out, offset + np.arange(width))
        offset += width


def _link_flatten(key_in, key_out, channels):
    width, size = len(channels.removable[key_in]), len(channels.removable[key_out])
    channels.link(key_in, np.tile(np.arange(width), size // width), key_out, np.arange(size))
