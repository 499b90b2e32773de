"""Read-only view of a Functional or Sequential model, built from the model's own nodes."""

import keras

from tf_neuronselect.analysis.nesting import inline_nested_models
from tf_neuronselect.utils import keras_private


def channel_count(shape):
    """Channels of a tensor of ``shape`` (its last axis), or None when unknown or per-example
    scalar."""
    if len(shape) < 2 or shape[-1] is None:
        return None
    return int(shape[-1])


def tensor_key(tensor):
    """``(producing operation name, output index)``: a stable, printable tensor identity."""
    operation, _, index = keras_private.producer(tensor)
    return (operation.name, index)


class ModelGraph:
    """The nodes of a model in topological order, with the producer and consumers of every
    tensor. Refuses what the rewriter cannot rebuild exactly (subclassed models, shared layers,
    nested models).

    Attributes:
        model: the Functional model (a Sequential's inner Functional).
        nodes: the model's nodes, inputs first, every node after the nodes it reads.
        consumers: tensor key -> list of nodes that read that tensor.
        shapes: tensor key -> static shape.
        output_keys: keys of the model's output tensors.
    """

    def __init__(self, model):
        self.name = getattr(model, "name", None)
        self.model = inline_nested_models(_as_functional(model))
        self.nodes = keras_private.nodes_in_order(self.model)
        self.consumers = {}
        self.shapes = {}
        self.operations = {}
        for node in self.nodes:
            self.operations[node.operation.name] = node.operation
            _check_operation(node.operation, self.nodes)
            for tensor in node.outputs:
                self.shapes[tensor_key(tensor)] = tuple(tensor.shape)
            for tensor in node.input_tensors:
                self.consumers.setdefault(tensor_key(tensor), []).append(node)
        self.input_keys = [tensor_key(t) for t in self.model.inputs]
        self.output_keys = [tensor_key(t) for t in self.model.outputs]

    def input_keys_of(self, node):
        """Keys of the tensors ``node`` reads, in call order."""
        return [tensor_key(t) for t in node.input_tensors]

    def output_keys_of(self, node):
        """Keys of the tensors ``node`` produces."""
        return [tensor_key(t) for t in node.outputs]

    def consumers_of(self, key):
        """Nodes reading the tensor ``key`` (empty for an unread tensor)."""
        return self.consumers.get(key, [])


def _as_functional(model):
    functional = keras_private.graph_model(model)
    if functional is not None:
        return functional
    if isinstance(model, keras.Sequential):
        raise ValueError(
            "Expected a built Sequential model. Received: Sequential "
            f"'{model.name}' with no known input shape. How to fix: start it with "
            "keras.Input(shape=...) or call model.build(input_shape) first."
        )
    raise TypeError(
        "Expected a Functional or Sequential keras.Model. Received: "
        f"{type(model).__name__} '{getattr(model, 'name', model)}', a subclassed model whose "
        "graph cannot be read. How to fix: rebuild it with the functional API "
        "(keras.Model(inputs, outputs)) or keras.Sequential."
    )


def _check_operation(operation, nodes):
    uses = sum(1 for node in nodes if node.operation is operation)
    if uses > 1:
        raise ValueError(
            "Expected every layer to be called once. Received: layer "
            f"'{operation.name}' ({type(operation).__name__}) is shared ({uses} calls), so "
            "slicing it for one call would change the others. How to fix: use a separate "
            "layer per call."
        )
