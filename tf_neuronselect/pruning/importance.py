"""How much each unit group matters in a trained model: the scores ``prune`` ranks groups by.

- ``"l2"`` / ``"l1"``: the norm of every trainable slice the group spans (producing and carried
  weights and the rows that read it), as Torch-Pruning's magnitude importance does.
- ``"bn_scale"``: the mean ``|gamma|`` of the BatchNorms the group's channels pass through
  (Network Slimming); a group with no BatchNorm gamma scores ``inf`` (never chosen).
- ``"taylor"``: ``|sum over the group's weights of w * dL/dw|``, the first-order change of the
  loss when the group is zeroed, with the gradient averaged over ``data`` (needs labels).
- ``"activation"``: the mean ``|value|`` of the group's channels where Dense/Conv-like layers
  read them, over ``data``. A unit inside a layer (an attention head) has no channel to
  measure: it scores ``inf`` (never chosen) under this importance.
"""

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.pruning import statistics
from tf_neuronselect.pruning.gradients import weight_gradients
from tf_neuronselect.utils.arrays import to_numpy
from tf_neuronselect.utils.keras_private import own_layers

KINDS = ("l2", "l1", "bn_scale", "taylor", "activation")
DATA_DRIVEN = ("taylor", "activation")


def group_importance(model, groups, kind="l2", data=None, loss=None):
    """One score per group of ``groups`` (from ``unit_groups(model)``): see the module doc."""
    layers = {layer.name: layer for layer in own_layers(model)}
    if kind in ("l2", "l1"):
        order = 2 if kind == "l2" else 1
        return np.array([_norm(layers, _trainable(layers, g.slices), order) for g in groups])
    if kind == "bn_scale":
        return np.array([_batchnorm_scale(layers, g) for g in groups])
    if kind == "activation":
        keys = sorted({key for g in groups for key in g.read_keys})
        means = statistics.channel_means(model, keys, data, absolute=True)
        return np.array([_mean_at_reads(g, means) for g in groups])
    gradients = weight_gradients(model, data, loss)
    return np.array([abs(_taylor(layers, g, gradients)) for g in groups])


def group_entry_means(model, groups, arrays, roles=None):
    """The mean of ``arrays`` (``{variable path: array shaped like the variable}``, e.g. the
    gradients' RMS) over each group's trainable entries (of its slices with a role in
    ``roles``; all when None): one value per group."""
    layers = {layer.name: layer for layer in own_layers(model)}
    means = []
    for group in groups:
        slices = [s for s in group.slices if roles is None or s.role in roles]
        entries = [e.ravel() for e in _sliced(layers, _trainable(layers, slices), arrays)]
        means.append(float(np.mean(np.concatenate(entries))) if entries else 0.0)
    return np.array(means)


def slice_entries(array, param_slice):
    """The entries of ``array`` (a weight's value) in ``param_slice``: ``(size, units)``."""
    matrix = grouping.unit_matrix(array, param_slice.layout, param_slice.side)
    return np.asarray(keras.ops.convert_to_numpy(matrix), dtype=np.float64)[
        :, list(param_slice.units)]


def _value(layers, param_slice):
    return to_numpy(groups_lib.find_weight(layers[param_slice.layer], param_slice.weight))


def _trainable(layers, slices):
    return [s for s in slices
            if groups_lib.find_weight(layers[s.layer], s.weight).trainable]


def _norm(layers, slices, order):
    entries = np.concatenate([slice_entries(_value(layers, s), s).ravel() for s in slices])
    return float(np.sum(np.abs(entries) ** order) ** (1.0 / order))


def _batchnorm_scale(layers, group):
    scales = [np.mean(np.abs(slice_entries(_value(layers, s), s))) for s in group.slices
              if s.weight == "gamma" and isinstance(layers[s.layer],
                                                    keras.layers.BatchNormalization)]
    return float(np.mean(scales)) if scales else float("inf")


def _taylor(layers, group, gradients):
    return sum(float(np.sum(e)) for e in _sliced(layers, group.slices, gradients, True))


def _sliced(layers, slices, arrays, times_weight=False):
    """The entries of ``arrays`` (by variable path) in each of ``slices`` whose variable has
    one, times the variable's value when ``times_weight``."""
    for s in slices:
        variable = groups_lib.find_weight(layers[s.layer], s.weight)
        if variable.path in arrays:
            array = arrays[variable.path]
            yield slice_entries(to_numpy(variable) * array if times_weight else array, s)


def _mean_at_reads(group, means):
    if group.inner_kind:
        return float("inf")
    values = [means[key][list(channels)].mean() for key, channels in group.channels.items()
              if key in group.read_keys]
    return float(np.mean(values)) if values else 0.0
