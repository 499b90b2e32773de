"""Depth reduction: a linear Dense feeding only another Dense becomes one Dense.

``Dense(k, activation=None) -> Dense(m)`` computes ``(x W1 + b1) W2 + b2``, which is the single
layer ``x (W1 W2) + (b1 W2 + b2)``. This is how a tri-state ReLU whose depth gate learned
``d = 1`` (linear) removes a layer (Srinivas & Babu 2015): ``shrink`` drops the identity, then
this pass merges the two Dense layers around it. A pair is merged only when that lowers the
multiply-adds (``n * m < k * (n + m)`` for ``n`` inputs), since merging a narrow bottleneck
would make the model larger.
"""

import keras
import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.graph import tensor_key
from tf_neuronselect.analysis.replay import copy_call
from tf_neuronselect.analysis.replay import replay


def _is_plain_dense(layer):
    # Exact class and only kernel/bias: a LoRA or quantized Dense has other weights.
    return type(layer) is keras.layers.Dense and len(layer.weights) in (1, 2)


def _mergeable(graph, node):
    """The Dense node that is the only reader of ``node``'s linear Dense output, or None."""
    first = node.operation
    if not _is_plain_dense(first) or first.activation is not keras.activations.linear:
        return None
    key = tensor_key(node.outputs[0])
    readers = graph.consumers_of(key)
    if key in graph.output_keys or len(readers) != 1:
        return None
    second = readers[0]
    if not _is_plain_dense(second.operation) or len(second.input_tensors) != 1:
        return None
    inputs, hidden, outputs = first.kernel.shape[0], first.units, second.operation.units
    return second if inputs * outputs < hidden * (inputs + outputs) else None


def merged_weights(first, second):
    """``(W1 W2, b1 W2 + b2)`` for two plain Dense layers (missing biases count as zero)."""
    w1, w2 = (keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
              for layer in (first, second))
    b1 = keras.ops.convert_to_numpy(first.bias) if first.use_bias else np.zeros(w1.shape[1])
    b2 = keras.ops.convert_to_numpy(second.bias) if second.use_bias else np.zeros(w2.shape[1])
    return (w1 @ w2).astype("float32"), (b1 @ w2 + b2).astype("float32")


def _merged_layer(first, second, tensor):
    config = second.get_config()
    config["use_bias"] = True
    layer = keras.layers.Dense.from_config(config)
    outputs = layer(tensor)
    layer.set_weights(list(merged_weights(first, second)))
    return outputs


def _pairs(graph):
    """``{second name: first layer}`` of the mergeable pairs, none sharing a layer.

    In a chain of linear layers ``A -> B -> C`` both ``(A, B)`` and ``(B, C)`` may merge, but
    not in one pass (B would be dropped and merged at once): the pass takes the pairs in
    graph order, skipping any that touch a layer already taken, and the next pass merges the
    result again.
    """
    pairs, taken = {}, set()
    for node in graph.nodes:
        if node.is_input or (second := _mergeable(graph, node)) is None:
            continue
        names = {node.operation.name, second.operation.name}
        if not names & taken:
            pairs[second.operation.name] = node.operation
            taken |= names
    return pairs


def collapse_linear_dense(model):
    """``model`` with every advantageous linear Dense -> Dense pair merged into one Dense,
    pass after pass until nothing merges (a chain of linear layers becomes one layer).

    Every other node is rebuilt as a fresh copy, so the result shares no layer with ``model``.
    Returns ``model`` itself when nothing merges.
    """
    graph = ModelGraph(model)
    pairs = _pairs(graph)
    if not pairs:
        return model
    skipped = {first.name for first in pairs.values()}

    def call_node(node, args, kwargs):
        name = node.operation.name
        if node.is_input or name in skipped:
            return args[0]  # a merged layer reads the skipped layer's input directly
        if name in pairs:
            return _merged_layer(pairs[name], node.operation, args[0])
        return copy_call(node.operation, args, kwargs)

    return collapse_linear_dense(replay(graph, call_node))
