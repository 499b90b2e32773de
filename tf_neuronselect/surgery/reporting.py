"""``report``: what is dead in a model and what shrinking it would save."""

import keras
import numpy as np

from tf_neuronselect.selection.report import LayerReport
from tf_neuronselect.selection.report import Report
from tf_neuronselect.surgery.graph import ModelGraph
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.rewrite import rebuild


def report(model, tol=0.0, sample_inputs=None, prune_inputs=False):
    """A ``Report`` of dead units per layer, parameters and multiply-adds before/after.

    Args:
        model: a Functional or Sequential ``keras.Model``.
        tol: group-norm tolerance below which a unit counts as dead.
        sample_inputs: optional inputs; if given, the shrunk model is built and the largest
            absolute output change it causes on them is reported.
        prune_inputs: plan as ``shrink(..., prune_inputs=True)`` does: the model input (or
            the Flatten reading it) gets a line whose units are its features, kept/total.
    """
    graph = ModelGraph(model)
    if sample_inputs is not None:
        _check_sample_inputs(model, sample_inputs)
    plan = make_plan(graph, tol, prune_inputs=prune_inputs)
    layers = [_layer_report(p) for p in plan.layers.values() if p.units or p.params_before]
    change = None
    if sample_inputs is not None:
        change = _max_change(model, rebuild(graph, plan), sample_inputs)
    return Report(tol=plan.tol, layers=layers, max_output_change=change)


def _layer_report(plan):
    kept = len(plan.keep_out) if plan.units else 0
    return LayerReport(
        name=plan.name, class_name=plan.class_name, units=plan.units, dead=plan.dead,
        kept=kept, params_before=plan.params_before, params_after=plan.params_after,
        macs_before=plan.macs_before, macs_after=plan.macs_after,
        reasons=dict(plan.reasons), notes=list(plan.notes))


def _check_sample_inputs(model, inputs):
    if isinstance(inputs, dict):
        return  # matched by name by Keras itself; flattening would reorder the keys
    arrays = keras.tree.flatten(inputs)
    expected = [tuple(t.shape) for t in model.inputs]
    received = [tuple(np.shape(a)) for a in arrays]
    fits = len(arrays) == len(expected) and all(
        len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got))
        for want, got in zip(expected, received))
    if not fits:
        raise ValueError(
            f"report: expected `sample_inputs` shaped like the model inputs "
            f"{expected if len(expected) > 1 else expected[0]}. Received: "
            f"{received if len(received) != 1 else received[0]}. Pass a batch of real inputs "
            "(batch axis first, one array per model input), e.g. sample_inputs=x_test[:32]."
        )


def _max_change(model, shrunk, inputs):
    before = keras.tree.flatten(model(inputs, training=False))
    after = keras.tree.flatten(shrunk(inputs, training=False))
    diffs = [np.max(np.abs(keras.ops.convert_to_numpy(a) - keras.ops.convert_to_numpy(b)))
             for a, b in zip(before, after)]
    return float(max(diffs)) if diffs else 0.0
