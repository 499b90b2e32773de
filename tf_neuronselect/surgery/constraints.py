"""The coupling rules: turns the graph into pins and links on ``Channels``."""

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.selection.dead import unused_inputs
from tf_neuronselect.surgery import slicers
from tf_neuronselect.surgery.channels import Channels
from tf_neuronselect.surgery.constants import channel_count
from tf_neuronselect.surgery.registry import get_slicer


def build_channels(graph, constants, tol, selections=()):
    """``Channels`` for every tensor of ``graph`` with pins and links from every node, plus the
    list of ``(node, input key)`` pairs read by layers nobody knows how to slice.

    ``selections`` (from ``input_selections``) are the input-side tensors whose unused features
    may go; every other model input keeps all its channels."""
    channels = Channels()
    for key, shape in graph.shapes.items():
        if channel_count(shape) is not None:
            channels.add(key, channel_count(shape))
    for key in graph.input_keys:
        if key not in selections:
            _pin_all(channels, key, "model input")
    for key in graph.output_keys:
        _pin_all(channels, key, "feeds a model output")
    unknown = []
    for node in graph.nodes:
        if not node.is_input:
            unknown += _constrain(graph, node, channels, constants, tol, selections)
    return channels, unknown


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


def keep_one_feature(channels, selections):
    """Keeps feature 0 of every selected input tensor nobody reads, so no input is emptied."""
    for key in selections:
        if channels.removable[key].all():
            channels.pin(key, [0], "kept so the model input is not empty")
    channels.settle()


def _pin_all(channels, key, reason):
    if key in channels.removable:
        channels.pin(key, slice(None), reason)


def _constrain(graph, node, channels, constants, tol, selections=()):
    operation, slicer = node.operation, get_slicer(node.operation)
    inputs, outputs = graph.input_keys_of(node), graph.output_keys_of(node)
    known = all(k in channels.removable for k in inputs + outputs)
    if slicer is None or not known or len(outputs) != 1:
        return _constrain_unknown(node, inputs, outputs, channels, constants, slicer is None)
    role = slicer.role(operation)
    if role == slicers.UNITS:
        _constrain_consumer(operation, inputs[0], outputs[0], channels, constants, tol)
        activation = slicers.mixing_activation(operation)
        if activation:
            # Every unit's output depends on all the others: removing one changes the rest.
            _pin_all(channels, outputs[0], f"'{operation.name}' has a {activation} activation, "
                     "which mixes its units")
    elif role in (slicers.CHANNELWISE, slicers.MERGE):
        _link_elementwise(operation, inputs, outputs[0], channels)
    elif role == slicers.CONCATENATE:
        _link_concatenate(inputs, outputs[0], channels)
    elif role == slicers.FLATTEN and outputs[0] in selections:
        pass  # its features are selected on their own; the model input stays whole
    elif role == slicers.FLATTEN:
        _link_flatten(inputs[0], outputs[0], channels)
    else:
        reason = f"'{operation.name}' ({type(operation).__name__}) mixes channels"
        for key in inputs + outputs:
            _pin_all(channels, key, reason)
    return []


def _constrain_unknown(node, inputs, outputs, channels, constants, unregistered):
    name = f"'{node.operation.name}' ({type(node.operation).__name__})"
    for key in outputs:
        _pin_all(channels, key, f"produced by {name}, which has no slicer")
    pending = []
    for key in inputs:
        if key not in channels.removable:
            continue
        # A constant channel read by an unknown layer could go; decide after settling.
        if unregistered:
            channels.pin(key, np.isnan(constants[key]), f"read by {name}, which has no slicer")
            pending.append((node, key))
        else:
            _pin_all(channels, key, f"read by {name}, which cannot be sliced")
    return pending


def _constrain_consumer(layer, key_in, key_out, channels, constants, tol):
    spec = grouping.unit_spec(layer)
    if spec.layout == grouping.DEPTHWISE and not spec.depthwise:
        multiplier = getattr(layer, spec.kernel).shape[-1]
        size = len(channels.removable[key_in])
        channels.link(key_in, np.repeat(np.arange(size), multiplier), key_out,
                      np.arange(size * multiplier))
        return
    values = constants[key_in]
    constant = np.isfinite(values)
    exact = constant & ((values == 0) | exact_fold(layer))
    accepts = unused_inputs(layer, tol) | exact
    name = f"'{layer.name}'"
    channels.pin(key_in, ~accepts & constant,
                 f"consumer {name} uses '{getattr(layer, 'padding', '')}' padding and the "
                 "constant is non-zero (folding would be wrong at the borders)")
    channels.pin(key_in, ~accepts & ~constant, f"read by {name}")


def exact_fold(layer):
    """True when a constant input of ``layer`` can be folded into its bias exactly: Dense, or
    a standard-layout convolution with 'valid' padding (every tap reads the constant)."""
    spec = grouping.unit_spec(layer)
    if spec.layout != grouping.STANDARD:
        return False
    return getattr(layer, "padding", "valid") == "valid"


def _link_elementwise(operation, inputs, key_out, channels):
    size = len(channels.removable[key_out])
    for key in inputs:
        width = len(channels.removable[key])
        if width == size:
            channels.link(key, np.arange(size), key_out, np.arange(size))
        else:
            _pin_all(channels, key, f"broadcast operand of '{operation.name}'")


def _link_concatenate(inputs, key_out, channels):
    offset = 0
    for key in inputs:
        width = len(channels.removable[key])
        channels.link(key, np.arange(width), key_out, offset + np.arange(width))
        offset += width


def _link_flatten(key_in, key_out, channels):
    width, size = len(channels.removable[key_in]), len(channels.removable[key_out])
    channels.link(key_in, np.tile(np.arange(width), size // width), key_out, np.arange(size))
