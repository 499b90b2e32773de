"""Planning units inside a layer (attention heads, a block's hidden neurons): they have no
channel in the graph, so they go whenever they are dead, keeping at least one."""

import collections

import numpy as np

from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.surgery import plan as plan_lib
from tf_neuronselect.surgery.costs import layer_macs


def has_internal_units(layer):
    slicer = get_slicer(layer)
    return bool(getattr(slicer, "internal_count", None) and slicer.internal_count(layer))


def internal_statuses(layers, tol):
    """``{layer name: (dead, reasons, strength)}`` of the layers with internal units."""
    return {layer.name: get_slicer(layer).internal_status(layer, tol) for layer in layers
            if has_internal_units(layer)}


def internal_notes(layer, tol):
    """Why the slicer of ``layer`` keeps some dead units (optional ``internal_notes``)."""
    notes = getattr(get_slicer(layer), "internal_notes", None)
    return list(notes(layer, tol)) if notes is not None else []


def plan_internal(layer, plan, status, shapes):
    """Fills ``plan`` for ``layer``'s internal units from ``status``; ``shapes`` are the
    node's input and output shapes (for the multiply-adds)."""
    dead, reasons, strength = status
    keep = np.asarray(get_slicer(layer).internal_keep(layer, dead, strength), dtype=np.int64)
    kept_dead = [int(u) for u in keep if dead[u]]
    if kept_dead:
        plan.notes.append(f"kept (strongest) so the layer is not empty: units {kept_dead}")
    removed = np.setdiff1d(np.arange(len(dead)), keep)
    plan.units, plan.dead, plan.keep_units = len(dead), int(np.sum(dead)), keep
    plan.reasons = dict(collections.Counter(reasons[j] for j in removed))
    plan.macs_before = layer_macs(layer, *shapes)
    plan.macs_after = _kept_macs(layer, shapes, keep)
    slicer = get_slicer(layer)
    scale = getattr(slicer, "internal_scale", lambda _: None)(layer)
    if scale is not None:  # a gated layer is always rewritten: its gates fold away
        plan.out_scale = scale
    if len(removed) or scale is not None:
        plan.action = plan_lib.SLICE
        plan.params_after = int(sum(np.asarray(a).size for a in slicer.internal_weights(
            layer, keep, **internal_scale_argument(plan))))


def internal_scale_argument(plan):
    """The keyword arguments that pass ``plan``'s gate factors (``out_scale``) to a slicer's
    ``internal_config`` / ``internal_weights`` / ``internal_class``: none when there are none,
    so slicers without gates need not take them."""
    return {} if plan.out_scale is None else {"scale": plan.out_scale}


def _kept_macs(layer, shapes, keep):
    """Multiply-adds of ``layer`` with the internal units ``keep`` only: a slicer that counts
    its own gets the indices (a block may keep heads and neurons, which cost differently)."""
    internal_macs = getattr(get_slicer(layer), "internal_macs", None)
    if internal_macs is not None:
        return internal_macs(layer, *shapes, keep)
    return layer_macs(layer, *shapes, kept_out=len(keep))
