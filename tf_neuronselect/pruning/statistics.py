"""Per-channel statistics of a model's tensors over a few batches of data: what the activation
importance ranks by and what bias compensation folds."""

import keras
import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.graph import tensor_key
from tf_neuronselect.pruning.data import inputs_of


def channel_means(model, keys, data, absolute=False):
    """``{tensor key: per-channel mean}`` over the batch and spatial axes of the tensors
    ``keys`` of ``model``'s graph, computed on ``data`` (see ``pruning.data``); with
    ``absolute`` the mean of the absolute values."""
    if not keys:
        return {}
    graph = ModelGraph(model)
    tensors = {tensor_key(t): t for node in graph.nodes for t in node.outputs}
    probe = keras.Model(graph.model.inputs, [tensors[key] for key in keys])
    outputs = probe.predict(inputs_of(data), verbose=0, batch_size=128)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    means = {}
    for key, values in zip(keys, outputs):
        values = np.asarray(values, dtype=np.float64)
        values = np.abs(values) if absolute else values
        means[key] = values.reshape(-1, values.shape[-1]).mean(axis=0)
    return means
