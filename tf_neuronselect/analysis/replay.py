"""Rebuilding a functional model node by node on fresh tensors: ``replay`` is the one loop that
``shrink`` and the linear-layer collapse both run."""

import keras

from tf_neuronselect.analysis import hub
from tf_neuronselect.api_export import PACKAGE
from tf_neuronselect.utils import keras_private


def fresh_inputs(graph):
    """``{id(old input tensor): new keras.Input}`` for every input of ``graph``'s model."""
    return {id(tensor): keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype,
                                    name=keras_private.producer(tensor)[0].name)
            for tensor in graph.model.inputs}


def replay(graph, call_node):
    """The new model made by calling ``call_node(node, args, kwargs)`` for every node of
    ``graph`` in order, on fresh inputs; it returns the node's new outputs. ``args`` and
    ``kwargs`` are the node's call arguments with every tensor replaced by its new image; an
    input node is called with ``(new input,)`` and may return another tensor in its place (the
    model keeps the new input itself as its input)."""
    inputs = fresh_inputs(graph)
    tensors = dict(inputs)
    for node in graph.nodes:
        if node.is_input:
            args, kwargs = [tensors[id(t)] for t in node.outputs], {}
        else:
            args, kwargs = keras_private.call_arguments(node, tensors)
        outputs = call_node(node, args, kwargs)
        for old, new in zip(node.outputs, keras.tree.flatten(outputs)):
            tensors[id(old)] = new
    return model_from(graph, tensors, inputs)


def copy_model(graph):
    """A copy of ``graph``'s model: fresh layers with the same configs and weights."""
    return replay(graph, lambda node, args, kwargs: args[0] if node.is_input
                  else copy_call(node.operation, args, kwargs))


def model_from(graph, tensors, inputs=None):
    """The new model whose inputs and outputs are the images in ``tensors`` of the old ones
    (the inputs looked up in ``inputs`` instead when given)."""
    model = graph.model
    inputs = tensors if inputs is None else inputs
    inputs = keras.tree.map_structure(lambda t: inputs[id(t)],
                                      keras_private.input_structure(model))
    outputs = keras.tree.map_structure(lambda t: tensors[id(t)],
                                       keras_private.output_structure(model))
    return keras.Model(inputs, outputs, name=graph.name)


def without_library_objects(config):
    """``config`` with every serialized tf_neuronselect object (a penalty, a constraint) set to
    None: they only matter for training, and without them a saved model loads with plain Keras."""
    def is_ours(value):
        return isinstance(value, dict) and str(value.get("registered_name", "")).startswith(
            f"{PACKAGE}>")

    return {key: None if is_ours(value) else value for key, value in config.items()}


def copy_call(operation, args, kwargs, stock_only=False):
    """Calls a fresh copy of ``operation`` (same config and weights) on ``args``."""
    if not isinstance(operation, keras.layers.Layer):
        # A keras.ops call: a fresh op of the same config, so the new model shares no node.
        return type(operation).from_config(operation.get_config())(*args, **kwargs)
    config = operation.get_config()
    layer = layer_from_config(operation, without_library_objects(config) if stock_only else config)
    outputs = layer(*args, **kwargs)
    layer.set_weights(operation.get_weights())
    return outputs


def layer_from_config(operation, config, cls=None):
    """A new layer of ``operation``'s class (or ``cls``) made from ``config`` (its own, maybe
    narrowed); a KerasHub layer whose class cannot be rebuilt from its own config becomes this
    library's stand-in (hub.py's ``rebuilt_as``: ViT's patching and blocks).

    The new model is made of such layers and ``keras.models.load_model`` rebuilds them the same
    way, so any other class whose ``get_config`` its ``from_config`` rejects is refused by name
    here rather than failing deep inside Keras."""
    if cls is None:
        cls, config = hub.rebuilt_as(operation, config)
    try:
        return cls.from_config(config)
    except (TypeError, ValueError) as error:
        cause = error.__context__ or error  # Keras wraps the constructor's own message
        raise TypeError(
            f"Cannot rebuild layer '{operation.name}' ({cls.__module__}.{cls.__name__}) from "
            "its own config. Expected a layer class whose from_config(get_config()) builds "
            f"it again. Received: {type(cause).__name__}: {cause}. How to fix: give "
            f"{cls.__name__} a get_config() that returns only arguments of its __init__ (or a "
            "from_config that drops the others): the rewrite copies every layer through its "
            "config, so until then it cannot rewrite a model holding this layer."
        ) from error
