"""Builds the ``Plan``: selection -> constants -> coupling -> sizes -> per-layer plans."""

import keras

from tf_neuronselect.analysis.coupling import couple
from tf_neuronselect.analysis.coupling import input_selections
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.selection.constants import propagate_constants
from tf_neuronselect.selection.dead import check_finite
from tf_neuronselect.selection.dead import layer_status
from tf_neuronselect.surgery import branches
from tf_neuronselect.surgery import internal
from tf_neuronselect.surgery import pins
from tf_neuronselect.surgery.assemble import assemble
from tf_neuronselect.surgery.plan import Plan
from tf_neuronselect.surgery.sizes import enforce_sizes
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_int


def make_plan(model, tol=0.0, round_to=None, prune_inputs=False, drop_branches=True):
    """The ``Plan`` that removes every dead unit of ``model`` it can remove exactly (a
    ``keras.Model`` or a ``ModelGraph``); same arguments as ``shrink``."""
    graph = model if isinstance(model, ModelGraph) else ModelGraph(model)
    tol = validate_non_negative_float(tol, "tol", "shrink")
    round_to = validate_positive_int(round_to, "round_to", "shrink", allow_none=True, example=8)
    prune_inputs = validate_bool(prune_inputs, "prune_inputs", "shrink")
    drop_branches = validate_bool(drop_branches, "drop_branches", "shrink")
    layers = [n.operation for n in graph.nodes if isinstance(n.operation, keras.layers.Layer)]
    for layer in layers:
        check_finite(layer)
    statuses = {layer.name: layer_status(layer, tol) for layer in layers}
    constants, born = propagate_constants(graph, statuses)
    selections = input_selections(graph) if prune_inputs else []
    coupling = couple(graph, selections)
    pins.pin_readers(coupling, constants, tol)
    pending = pins.pin_unknown_readers(coupling, constants)
    channels = coupling.channels
    channels.settle()
    pins.raise_on_unknown(pending, channels, constants)
    pins.keep_one_feature(channels, selections)
    notes = enforce_sizes(graph, channels, statuses, round_to)
    plans = assemble(graph, channels, constants, statuses, notes, selections, born)
    inside = internal.internal_statuses(layers, tol)
    for node in graph.nodes:
        name = node.operation.name
        if name in inside:
            shapes = (graph.shapes[graph.input_keys_of(node)[0]],
                      graph.shapes[graph.output_keys_of(node)[0]])
            internal.plan_internal(node.operation, plans[name], inside[name], shapes)
            plans[name].notes += internal.internal_notes(node.operation, tol)
    if drop_branches:
        branches.plan_branches(graph, plans, statuses, constants, tol)
    return Plan(tol, round_to, plans, prune_inputs)
