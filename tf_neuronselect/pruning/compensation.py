"""Bias compensation: a removed live channel's mean, folded into what reads it (FLAP's fix for
pruned LLMs, and the fold ``shrink`` does for dead units that emit a constant).

Each Dense/Conv-like layer that reads a removed channel gains ``rows . mean`` in its bias (all
of a convolution's taps read the mean; at the borders of 'same' padding this is approximate). A
reader without a bias whose output goes only to a BatchNorm shifts that BatchNorm's moving
mean instead; any other reader without a bias is left uncompensated.
"""

import collections

import keras
import numpy as np

from tf_neuronselect import grouping
from tf_neuronselect.analysis import groups as groups_lib
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.pruning.statistics import channel_means
from tf_neuronselect.surgery.folding import bias_fold
from tf_neuronselect.utils.arrays import to_numpy


def read_means(model, groups, data):
    """Per-channel means, over ``data``, of every tensor where ``groups`` are read."""
    return channel_means(model, sorted({k for g in groups for k in g.read_keys}), data)


def compensate(model, groups, means):
    """Adds the removed channels' mean contributions to their readers (see the module doc);
    returns the names of the layers (or BatchNorms) that took them."""
    graph = ModelGraph(model)
    silenced = _silenced_units(groups)
    deltas = collections.defaultdict(float)
    for key, removed in _removed_channels(groups).items():
        constants = np.full(len(means[key]), np.nan)
        constants[removed] = means[key][removed]
        keep = np.setdiff1d(np.arange(len(constants)), removed)
        for node in graph.consumers_of(key):
            fold = _fold(node.operation, keep, constants)
            if fold is not None:
                fold[list(silenced.get(node.operation.name, ()))] = 0.0
                deltas[node.operation.name] = deltas[node.operation.name] + fold
    return [_apply(graph, graph.operations[name], delta) for name, delta in deltas.items()]


def _removed_channels(groups):
    removed = collections.defaultdict(list)
    for group in groups:
        for key in group.read_keys:
            removed[key].extend(int(c) for c in group.channels.get(key, ()))
    return removed


def _silenced_units(groups):
    """Output units of each layer that the groups zero (their bias must stay zero)."""
    units = collections.defaultdict(set)
    for group in groups:
        for s in group.slices:
            if s.role == groups_lib.PRODUCES:
                units[s.layer].update(s.units)
    return units


def _fold(layer, keep, constants):
    spec = grouping.unit_spec(layer) if hasattr(layer, "weights") else None
    if spec is None or (spec.layout == grouping.DEPTHWISE and not spec.depthwise):
        return None
    return bias_fold(layer, keep, constants)


def _apply(graph, layer, delta):
    if getattr(layer, "bias", None) is not None:
        layer.bias.assign(to_numpy(layer.bias) + delta.astype("float32"))
        return layer.name
    readers = graph.consumers_of(graph.output_keys_of(_node_of(graph, layer))[0])
    batchnorm = readers[0].operation if len(readers) == 1 else None
    if isinstance(batchnorm, keras.layers.BatchNormalization):
        batchnorm.moving_mean.assign(to_numpy(batchnorm.moving_mean) - delta.astype("float32"))
        return batchnorm.name
    return None


def _node_of(graph, layer):
    return next(node for node in graph.nodes if node.operation is layer)
