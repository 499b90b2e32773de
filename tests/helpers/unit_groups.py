"""Killing units the way a zero-invariant penalty or Network Slimming does."""

import keras
import numpy as np

import tf_neuronselect as ns
from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.utils import keras_private


def zero_unit_groups(model, share, rng):
    """Zeroes every trainable ``produces`` and ``carries`` slice of about ``share`` of the
    removable unit groups that have a producer; returns how many groups were zeroed."""
    chosen = [g for g in ns.unit_groups(model).removable()
              if g.layers((groups_lib.PRODUCES,)) and rng.random() < share]
    units = {}
    for group in chosen:
        for s in group.slices:
            if s.role != groups_lib.READS:
                units.setdefault((s.layer, s.weight, s.layout, s.side), []).extend(s.units)
    layers = {layer.name: layer for layer in keras_private.own_layers(model)}
    for (layer, weight, layout, side), killed in units.items():
        variable = groups_lib.find_weight(layers[layer], weight)
        if variable.trainable:
            array = keras.ops.convert_to_numpy(variable)
            factors = np.ones(ns.grouping.num_units(array.shape, layout, side))
            factors[killed] = 0.0
            variable.assign(ns.grouping.scale_units(array, layout, side, factors))
    return len(chosen)


def silence_batchnorm(model, share, rng):
    """Sets gamma = beta = 0 on about ``share`` of the channels of every BatchNormalization
    that has both; returns how many layers were touched."""
    touched = 0
    for layer in keras_private.own_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.scale and layer.center:
            silenced = rng.random(layer.gamma.shape) < share
            for variable in (layer.gamma, layer.beta):
                variable.assign(np.where(silenced, 0.0, keras.ops.convert_to_numpy(variable)))
            touched += 1
    return touched
