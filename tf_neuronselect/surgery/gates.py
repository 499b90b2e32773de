"""``add_gates``: ShrinkNets' gates at the point where closing one frees its channels.

A gate right after a convolution does not free a channel that a BatchNorm and a
squeeze-and-excitation product follow: BatchNorm turns the zero into its shift again, and the
product turns that constant into data. So each Dense/Conv-like unit layer's output is followed
through the layers that keep channels one to one (activations, BatchNorm, a depthwise
convolution, products with a gate branch), up to the last tensor every reader of those channels
is reached through: there a closed gate silences the channels for all of them. Merges that add
other producers (a residual ``Add``) end the walk. Gates whose closing would free nothing (the
check closes them all and plans a shrink) are left out.
"""

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.attention import weights_by_path
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.analysis.replay import copy_call
from tf_neuronselect.analysis.replay import replay
from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.gated_attention import GatedMultiHeadAttention
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_non_negative_float

def add_gates(model, l1=1e-3, heads=False):
    """A copy of ``model`` with a ``Gate(l1)`` where closing it frees a unit layer's channels
    (see the module doc); the original model is not changed. Train it with ``ProximalSGD`` /
    ``ProximalAdam`` (gates then close exactly) and ``shrink`` it as usual: closed gates take
    their channels with them and open ones fold into the neighbouring kernels.

    With ``heads=True`` every stock ``MultiHeadAttention`` (without ``use_gate``) also becomes
    a ``GatedMultiHeadAttention(l1)`` with the same weights and name: one gate per head, the
    units inside the layer; ``shrink`` turns it back into a stock ``MultiHeadAttention`` with
    the open heads. ``GroupQueryAttention`` gets no head gates.

    Returns:
        ``(gated_model, gates)``: the new model and ``{gate name: name of the unit layer whose
        channels it gates}``; a gated attention layer is listed under its own name.
    """
    l1 = validate_non_negative_float(l1, "l1", "add_gates")
    heads = validate_bool(heads, "heads", "add_gates")
    graph = ModelGraph(model)
    positions = gate_positions(graph)
    effective = _effective(_gated(graph, positions, l1), positions)
    positions = {key: name for key, name in positions.items() if name in effective}
    gated = _gated(graph, positions, l1, heads)
    gates = {f"{name}_gate": name for name in positions.values()}
    gates.update({layer.name: layer.name for layer in gated.layers
                  if isinstance(layer, GatedMultiHeadAttention)})
    return gated, gates


def gate_positions(graph):
    """``{tensor key: unit layer name}``: where each unit layer's gate goes."""
    positions = {}
    for node in graph.nodes:
        if _is_producer(node):
            key = _last_cut_point(graph, graph.output_keys_of(node)[0])
            if key is not None and key not in graph.output_keys:
                positions.setdefault(key, node.operation.name)
    return positions


def _is_producer(node):
    slicer = get_slicer(node.operation)
    if node.is_input or slicer is None or slicer.role(node.operation) != slicers.UNITS:
        return False
    return grouping.unit_spec(node.operation).layout != grouping.DEPTHWISE


def _passes(node):
    """Whether channel c of ``node``'s output is a function of channel c of what it reads."""
    slicer = get_slicer(node.operation)
    if slicer is None or len(node.outputs) != 1:
        return False
    role = slicer.role(node.operation)
    if role == slicers.UNITS:
        spec = grouping.unit_spec(node.operation)
        return (spec.layout == grouping.DEPTHWISE and not spec.depthwise
                and grouping.weight_of(node.operation, spec.kernel).shape[-1] == 1)
    if role == slicers.MERGE:
        return getattr(slicer, "zero_absorbing", False)  # zero times anything is zero
    return role == slicers.CHANNELWISE


def _reach(graph, start, blocked=None):
    """Tensors reachable from ``start`` through passing nodes (not through ``blocked``), and
    the keys read by the other nodes they reach (the readers)."""
    seen, readers, stack = {start}, set(), [start]
    while stack:
        key = stack.pop()
        for node in graph.consumers_of(key):
            if not _passes(node):
                readers.add(key)
                continue
            out = graph.output_keys_of(node)[0]
            if out != blocked and out not in seen:
                seen.add(out)
                stack.append(out)
        if key in graph.output_keys:
            readers.add(key)
    return seen, readers


def _last_cut_point(graph, start):
    """The last tensor, in graph order, through which ``start`` reaches every reader."""
    reached, readers = _reach(graph, start)
    if not readers:
        return None
    order = {key: i for i, key in enumerate(graph.shapes)}
    for key in sorted(reached, key=order.get, reverse=True):
        if key == start:
            return key
        seen, _ = _reach(graph, start, blocked=key)
        if not readers & seen:
            return key
    return start


def _gated(graph, positions, l1, heads=False):
    def call_node(node, args, kwargs):
        if node.is_input:
            outputs = args[0]
        elif heads and _takes_head_gates(node.operation):
            outputs = _gated_attention(node.operation, l1, args, kwargs)
        else:
            outputs = copy_call(node.operation, args, kwargs)
        key = graph.output_keys_of(node)[0] if len(node.outputs) == 1 else None
        if key in positions:
            outputs = Gate(l1=l1, name=f"{positions[key]}_gate")(outputs)
        return outputs

    return replay(graph, call_node)


def _effective(gated, positions):
    """Names of the unit layers whose gate, closed with all the others, frees at least half
    of its channels."""
    for name in positions.values():
        gate = gated.get_layer(f"{name}_gate")
        gate.theta.assign(np.zeros(gate.theta.shape))
    plan = make_plan(gated)
    return {name for name in positions.values()
            if len(plan.layers[f"{name}_gate"].keep_out) * 2 <= plan.layers[f"{name}_gate"].units}


def _takes_head_gates(layer):
    """A stock MultiHeadAttention without Keras's own gate projection (which mixes heads)."""
    return (type(layer) is keras.layers.MultiHeadAttention
            and not layer.get_config().get("use_gate", False))


def _gated_attention(layer, l1, args, kwargs):
    """Calls a ``GatedMultiHeadAttention(l1)`` made from ``layer``'s config and weights (its
    gates open: it computes what ``layer`` computes)."""
    gated = GatedMultiHeadAttention.from_config({**layer.get_config(), "l1": l1})
    outputs = gated(*args, **kwargs)
    for weight in gated.weights:
        path = weight.path[len(gated.path) + 1:]
        if path != "theta":
            weight.assign(weights_by_path(layer)[path])
    return outputs
