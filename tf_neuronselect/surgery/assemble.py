"""Turns settled channels into one ``LayerPlan`` per layer: kept indices, folds, costs, notes."""

import collections

import numpy as np

from tf_neuronselect.analysis import slicers
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect import grouping
from tf_neuronselect.layers import gating
from tf_neuronselect.selection.dead import CONSTANT_UPSTREAM
from tf_neuronselect.selection.dead import ZERO_OUTGOING
from tf_neuronselect.surgery import folding
from tf_neuronselect.surgery import internal
from tf_neuronselect.surgery import plan as plan_lib
from tf_neuronselect.surgery.costs import layer_macs
from tf_neuronselect.surgery.costs import params_of

def assemble(graph, channels, constants, statuses, notes, selections=(), born=None):
    """Layer name -> ``LayerPlan`` for every node of ``graph``, in topological order.
    ``selections``: input-side tensor keys whose unused features a ``SelectFeatures`` drops;
    ``born``: where constants were made and why (from ``propagate_constants``)."""
    causes = _group_causes(channels, born or {})
    scales = {"in": {}, "out": {}}
    gates = {node.operation.name: _plan_gate(graph, node, channels, scales)
             for node in graph.nodes if isinstance(node.operation, gating.GATE_LAYERS)}
    plans = {}
    for node in graph.nodes:
        name = node.operation.name
        plans[name] = gates.get(name) or _plan_node(graph, node, channels, constants, scales)
        _describe_units(plans[name], node, graph, channels, constants, statuses.get(name),
                        causes)
        plans[name].notes = notes.get(name, []) + plans[name].notes
    for key in selections:
        _plan_selection(plans[key[0]], len(channels.removable[key]), channels.keep(key))
    return plans


def _plan_selection(plan, size, kept):
    """A model input (or a Flatten reading one) followed by ``SelectFeatures(kept)``: the
    layer itself is copied unchanged; its features are reported as its units."""
    if plan.action != plan_lib.INPUT:
        plan.action, plan.params_after = plan_lib.COPY, plan.params_before
    plan.units, plan.dead = size, size - len(kept)
    plan.reasons = {ZERO_OUTGOING: plan.dead} if plan.dead else {}
    plan.select = kept if plan.dead else None
    where = f"a SelectFeatures layer after '{plan.name}' keeps them" if plan.dead \
        else "nothing to select, no layer inserted"
    plan.notes.append(f"input features {size} -> {len(kept)} ({where})")


def _base_plan(graph, node, channels):
    operation = node.operation
    keys_in, keys_out = graph.input_keys_of(node), graph.output_keys_of(node)
    known = len(keys_out) == 1 and keys_out[0] in channels.removable
    return plan_lib.LayerPlan(
        name=operation.name, class_name=type(operation).__name__,
        keep_in=[channels.keep(k) if k in channels.removable else None for k in keys_in],
        keep_out=channels.keep(keys_out[0]) if known else None,
        params_before=params_of(operation),
    )


def _plan_gate(graph, node, channels, scales):
    plan = _base_plan(graph, node, channels)
    scale = gating.channel_scale(node.operation)
    plan.relu_after = gating.keeps_relu(node.operation)
    plan.action = plan_lib.RELU if plan.relu_after else plan_lib.REMOVE
    if np.all(scale[plan.keep_out] == 1):
        return plan
    where, target = folding.fold_target(graph, node)
    if where == "producer":
        _multiply(scales["out"], target.name, scale)
        plan.notes.append(f"scale folded into the output units of '{target.name}'")
    elif where == "consumers":
        for layer in target:
            _multiply(scales["in"], layer.name, scale)
        plan.notes.append("scale folded into the input rows of "
                          + ", ".join(f"'{layer.name}'" for layer in target))
    else:
        plan.action, plan.scale = plan_lib.SCALE, scale
        plan.notes.append(f"replaced by a scaling BatchNormalization: {target}")
        plan.params_after = 4 * len(plan.keep_out)
    return plan


def _multiply(table, name, scale):
    table[name] = table.get(name, np.ones_like(scale)) * scale


def _plan_node(graph, node, channels, constants, scales):
    plan = _base_plan(graph, node, channels)
    slicer = get_slicer(node.operation)
    if node.is_input:
        plan.action, plan.params_before = plan_lib.INPUT, 0
        return plan
    role = slicer.role(node.operation) if slicer is not None else slicers.PINNED
    if role in (slicers.PINNED, slicers.INPUT) or plan.keep_out is None \
            or any(k is None for k in plan.keep_in):
        plan.params_after = plan.params_before
        return plan
    changed = _narrowed(graph, node, plan)
    if role == slicers.UNITS:
        changed |= _plan_unit_layer(graph, node, plan, constants, scales)
    if not changed:
        plan.params_after = plan.params_before
        return plan
    plan.action = plan_lib.SLICE
    plan.params_after = _count(slicer_weights(slicer, node.operation, plan))
    return plan


def _narrowed(graph, node, plan):
    sizes_in = [graph.shapes[k][-1] for k in graph.input_keys_of(node)]
    size_out = graph.shapes[graph.output_keys_of(node)[0]][-1]
    return len(plan.keep_out) != size_out or any(
        len(k) != s for k, s in zip(plan.keep_in, sizes_in))


def _plan_unit_layer(graph, node, plan, constants, scales):
    layer = node.operation
    key_in = graph.input_keys_of(node)[0]
    fold = folding.bias_fold(layer, plan.keep_in[0], constants[key_in])
    has_bias = getattr(layer, "bias", None) is not None
    if fold is not None and not has_bias:
        spec = grouping.unit_spec(layer)
        if np.any(grouping.take_units(fold, spec.layout, grouping.INCOMING, plan.keep_out)):
            plan.enable_bias = True
            plan.notes.append("bias switched on to hold the constants of removed inputs")
        else:
            fold = None
    plan.bias_fold = fold
    plan.in_scale = scales["in"].get(layer.name)
    plan.out_scale = scales["out"].get(layer.name)
    shape_in = graph.shapes[key_in]
    shape_out = graph.shapes[graph.output_keys_of(node)[0]]
    plan.macs_before = layer_macs(layer, shape_in, shape_out)
    plan.macs_after = layer_macs(layer, shape_in, shape_out, len(plan.keep_in[0]),
                                 len(plan.keep_out))
    return any(x is not None for x in (fold, plan.in_scale, plan.out_scale))


def slicer_weights(slicer, layer, plan):
    """The narrowed weights of ``layer`` as ``plan`` says (gate scales included)."""
    if plan.keep_units is not None:
        return slicer.internal_weights(layer, plan.keep_units,
                                       **internal.internal_scale_argument(plan))
    keep_in = plan.keep_in[0] if len(plan.keep_in) == 1 else plan.keep_in
    if plan.in_scale is not None or plan.out_scale is not None:
        return slicer.weights(layer, keep_in, plan.keep_out, plan.bias_fold,
                              in_scale=plan.in_scale, out_scale=plan.out_scale)
    return slicer.weights(layer, keep_in, plan.keep_out, plan.bias_fold)


def _count(arrays):
    return int(sum(np.asarray(a).size for a in arrays))


def _group_causes(channels, born):
    """``{key: per-channel cause}``: for every channel, the first reason a constant was born
    in its unit group (the channels linked to it), or None."""
    components = channels.components()
    first = {}
    for key, reasons in born.items():
        for channel, reason in reasons.items():
            first.setdefault(int(components[key][channel]), reason)
    return {key: [first.get(int(c)) for c in ids] for key, ids in components.items()}


def _removal_reason(status, j, values, cause):
    if status.reasons[j]:
        return status.reasons[j]
    if cause is not None:
        return cause
    if values is not None and np.isfinite(values[j]):
        return CONSTANT_UPSTREAM
    return ZERO_OUTGOING


def _describe_units(plan, node, graph, channels, constants, status, causes):
    if plan.keep_out is None:
        return
    key = graph.output_keys_of(node)[0]
    removed = np.setdiff1d(np.arange(len(channels.removable[key])), plan.keep_out)
    plan.removed_constants = {int(j): float(constants.get(key, np.full(j + 1, np.nan))[j])
                              for j in removed}
    if status is None:
        return
    plan.units, plan.dead = len(status.dead), int(status.dead.sum())
    values, cause = constants.get(key), causes.get(key)
    plan.reasons = dict(collections.Counter(
        _removal_reason(status, j, values, None if cause is None else cause[j])
        for j in removed))
    kept_dead = collections.Counter(channels.reason(key, j) for j in plan.keep_out
                                    if status.dead[j])
    plan.notes += [f"kept {n} dead unit(s): {why}" for why, n in kept_dead.items()]
