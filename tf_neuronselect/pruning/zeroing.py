"""Zeroing unit groups in place: every slice that produces or carries their channels, so the
channels are exactly zero and ``shrink`` removes them anywhere."""

import collections

import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.utils.arrays import to_numpy
from tf_neuronselect.utils.keras_private import own_layers

# A BatchNorm's variance divides; zeroing the mean as well (scale=False has no gamma) is what
# makes its output zero.
_KEPT = ("moving_variance",)


def zeroed_units(groups):
    """``{(layer, weight, layout, side): [units]}`` of the slices that zeroing touches."""
    units = collections.defaultdict(list)
    for group in groups:
        for s in group.slices:
            if s.role != groups_lib.READS and s.weight.rsplit("/", 1)[-1] not in _KEPT:
                units[(s.layer, s.weight, s.layout, s.side)].extend(s.units)
    return units


def zero_groups(model, groups):
    """Sets every producing and carried slice of ``groups`` to zero in ``model``'s weights."""
    layers = {layer.name: layer for layer in own_layers(model)}
    for (layer, weight, layout, side), units in zeroed_units(groups).items():
        variable = groups_lib.find_weight(layers[layer], weight)
        value = to_numpy(variable)
        factors = np.ones(grouping.num_units(value.shape, layout, side))
        factors[units] = 0.0
        variable.assign(grouping.scale_units(value, layout, side, factors).astype(value.dtype))
