"""A sparse group lasso over the model's unit groups: one ``UnitGroupPenalty`` per variable that
holds a slice of a group, all in one set that the proximal optimizers apply jointly."""

import uuid

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.penalties.kernels import check_built
from tf_neuronselect.penalties.kernels import model_layer
from tf_neuronselect.regularizers.group_lasso import SparseGroupLasso
from tf_neuronselect.regularizers.unit_group_penalty import UnitGroupPenalty
from tf_neuronselect.utils import keras_private

PENALIZED_ROLES = (groups_lib.PRODUCES, groups_lib.CARRIES)


def add_unit_group_penalties(model, penalty, layers=None):
    """Puts ``penalty`` (a GroupLasso or SparseGroupLasso) on every removable unit group of
    ``model`` that a layer of ``layers`` produces (all when None); returns the layer names that
    received a share of it."""
    _check_penalty(penalty)
    chosen = _chosen_groups(model, layers)
    by_name = {layer.name: layer for layer in keras_private.own_layers(model)}
    members = {}
    for index, group in enumerate(chosen):
        for param_slice in group.slices:
            if param_slice.role in PENALIZED_ROLES:
                _add_member(members, by_name[param_slice.layer], param_slice, index,
                            inside=not group.channels)
    set_name = f"{model.name}/{uuid.uuid4().hex[:8]}"
    for layer, variable, slot, layout, side, ids in members.values():
        share = UnitGroupPenalty(penalty.strength, penalty.alpha, set_name, layout, side,
                                 ids.tolist(), penalty.scale_by_group_size)
        variable.regularizer = share
        if slot is not None:
            grouping.set_attribute(layer, slot, share)
    touched = {member[0].name for member in members.values()}
    return [layer.name for layer in keras_private.own_layers(model) if layer.name in touched]


def _check_penalty(penalty):
    if not isinstance(penalty, SparseGroupLasso) or penalty.groups != grouping.INCOMING:
        raise TypeError(
            "add_penalty: expected a GroupLasso or SparseGroupLasso with groups='incoming' for "
            f"over='unit_groups'. Received: penalty={penalty!r}. How to fix: pass e.g. "
            "tf_neuronselect.SparseGroupLasso(1e-3), or over='kernels' for other penalties."
        )


def _chosen_groups(model, layers):
    chosen = groups_lib.unit_groups(model).removable()
    if layers is not None:
        names = {model_layer(model, item).name for item in layers}
        chosen = [g for g in chosen if names & set(g.layers((groups_lib.PRODUCES,)))]
    return [g for g in chosen if g.layers((groups_lib.PRODUCES,))]


def _add_member(members, layer, param_slice, index, inside=False):
    """Registers a slice; ``inside``: a unit inside a layer (an attention head), whose weights
    have no config slot of their own: its penalty is not saved with the model."""
    variable = groups_lib.find_weight(layer, param_slice.weight)
    slot = regularizer_slot(layer, variable)
    if not variable.trainable or (slot is None and not inside):
        return  # a gate's own penalty, a layer scale: multiplicative, not needed for zeros
    check_built(layer)
    key = (layer.name, param_slice.weight)
    if key not in members:
        units = grouping.num_units(tuple(variable.shape), param_slice.layout, param_slice.side)
        members[key] = (layer, variable, slot, param_slice.layout, param_slice.side,
                        np.full(units, -1, dtype=np.int64))
    _, _, _, layout, side, ids = members[key]
    if (layout, side) != (param_slice.layout, param_slice.side):
        raise RuntimeError(f"unit groups index '{key}' two ways; please report this model")
    ids[list(param_slice.units)] = index


def regularizer_slot(layer, variable):
    """The config attribute that saves ``variable``'s regularizer (``kernel_regularizer``,
    ``depthwise_regularizer``, ``gamma_regularizer``, ...), or None when there is none."""
    spec = grouping.layout_spec(layer)
    if spec is not None:
        owner = spec.regularizer.rpartition(".")[0]
        prefix = f"{owner}." if owner else ""
        slots = {spec.kernel: spec.regularizer, spec.depthwise: "depthwise_regularizer",
                 spec.recurrent: f"{prefix}recurrent_regularizer",
                 spec.bias: f"{prefix}bias_regularizer"}
        for name, slot in slots.items():
            if name and variable is grouping.weight_of(layer, name):
                return slot
    config = layer.get_config()
    for attribute, value in vars(layer).items():
        if value is variable and f"{attribute}_regularizer" in config:
            return f"{attribute}_regularizer"
    return None
