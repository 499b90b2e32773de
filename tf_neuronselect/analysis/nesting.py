"""Nested models (a Sequential or Functional model used as a layer, as in ConvNeXt's stem or a
KerasHub task around its backbone) are read through: ``inline_nested_models`` returns one flat
functional model that calls the inner models' own layers directly. A ``Bidirectional`` wrapper
is read through the same way: its forward and backward layers, the backward output flipped
back in time (``ops.flip``), merged by a stock layer as its ``merge_mode`` says. A KerasHub
composite layer that only calls its sublayers one after the other (ViT's encoder: hub.py's
``chain``) is read through as those sublayers.

The flat model shares every layer object (and so every variable) with the original, so what
the analysis finds about its layers holds for the original model, and ``shrink`` builds a flat
compact model from it. A nested call's ``training`` argument is not carried over: a Keras
functional model passes its own call's ``training`` to every layer, nested models included, so
the flag recorded in the graph never decides anything.
"""

import collections

import keras

from tf_neuronselect.analysis import hub
from tf_neuronselect.utils import keras_private


_MERGES = {"concat": keras.layers.Concatenate, "sum": keras.layers.Add,
           "ave": keras.layers.Average, "mul": keras.layers.Multiply}


def has_nested_models(functional):
    return any(isinstance(node.operation, (keras.Model, keras.layers.Bidirectional))
               or hub.chain(node.operation) is not None
               for node in keras_private.nodes_in_order(functional))


def inline_nested_models(functional):
    """``functional`` itself when it holds no nested model, else the flat equivalent."""
    if not has_nested_models(functional):
        return functional
    _check_unique_names(functional)
    inputs = {id(t): keras.Input(batch_shape=t.shape, dtype=t.dtype,
                                 name=keras_private.producer(t)[0].name)
              for t in functional.inputs}
    tensors = _replay(functional, dict(inputs))
    flat_inputs = keras.tree.map_structure(lambda t: inputs[id(t)],
                                           keras_private.input_structure(functional))
    flat_outputs = keras.tree.map_structure(lambda t: tensors[id(t)],
                                            keras_private.output_structure(functional))
    return keras.Model(flat_inputs, flat_outputs, name=functional.name)


def _replay(functional, tensors):
    for node in keras_private.nodes_in_order(functional):
        if node.is_input:
            continue
        args, kwargs = keras_private.call_arguments(node, tensors)
        outputs = _call(node.operation, args, kwargs)
        for old, new in zip(node.outputs, keras.tree.flatten(outputs)):
            tensors[id(old)] = new
    return tensors


def _call(operation, args, kwargs):
    if isinstance(operation, keras.Model):
        return _inline(operation, args, kwargs)
    if isinstance(operation, keras.layers.Bidirectional):
        return _inline_bidirectional(operation, args, kwargs)
    if hub.chain(operation) is not None:
        return _inline_chain(operation, args, kwargs)
    if not isinstance(operation, keras.layers.Layer):
        return type(operation).from_config(operation.get_config())(*args, **kwargs)
    return operation(*args, **kwargs)


def _inline(model, args, kwargs):
    inner = keras_private.graph_model(model)
    if inner is None:
        raise TypeError(
            "Expected nested models to be Functional or Sequential. Received: nested model "
            f"'{model.name}' ({type(model).__name__}), a subclassed model whose graph cannot be "
            "read. How to fix: rebuild it with the functional API or keras.Sequential."
        )
    unexpected = sorted(k for k, v in kwargs.items() if k != "training" and v is not None)
    if unexpected:
        raise ValueError(
            f"Expected nested model '{model.name}' to be called on its inputs (and optionally "
            f"training=...). Received: the keyword arguments {unexpected}. How to fix: call the "
            "nested model on its inputs only, or rebuild the model as one functional graph."
        )
    tensors = _replay(inner, {id(t): new for t, new in zip(inner.inputs,
                                                         keras.tree.flatten(args))})
    return keras.tree.map_structure(lambda t: tensors[id(t)],
                                    keras_private.output_structure(inner))


def _inline_bidirectional(wrapper, args, kwargs):
    if wrapper.return_state or wrapper.merge_mode not in _MERGES or len(args) != 1 \
            or kwargs.get("initial_state") is not None:
        raise ValueError(
            f"Expected Bidirectional '{wrapper.name}' to be called on one sequence, without "
            "initial states, returning one merged output. Received: merge_mode="
            f"{wrapper.merge_mode!r}, return_state={wrapper.return_state}. How to fix: use "
            "merge_mode='concat', 'sum', 'ave' or 'mul' and no returned states."
        )
    mask = {"mask": kwargs["mask"]} if kwargs.get("mask") is not None else {}
    forward = wrapper.forward_layer(args[0], **mask)
    backward = wrapper.backward_layer(args[0], **mask)
    if wrapper.return_sequences:
        backward = keras.ops.flip(backward, axis=1)
    merge = _MERGES[wrapper.merge_mode](name=f"{wrapper.name}_{wrapper.merge_mode}")
    return merge([forward, backward])


def _inline_chain(layer, args, kwargs):
    """Calls the sublayers of ``layer`` (hub.py's ``chain``) one after the other on its input."""
    unexpected = sorted(k for k, v in kwargs.items() if k != "training" and v is not None)
    if len(args) != 1 or unexpected:
        raise ValueError(
            f"Expected layer '{layer.name}' ({type(layer).__name__}) to be called on one "
            f"tensor. Received: {len(args)} positional arguments and the keyword arguments "
            f"{unexpected}. How to fix: call it on its input only (and optionally training=...).")
    tensor = args[0]
    for sublayer in hub.chain(layer):
        tensor = sublayer(tensor)
    return tensor


def _check_unique_names(functional):
    counts = collections.Counter(_graph_names(functional))
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if repeated:
        raise ValueError(
            "Expected every layer of a model and of its nested models to have its own name. "
            f"Received: the names {repeated} are used more than once. How to fix: give the "
            "layers of the nested models distinct names (name=... when building them)."
        )


def _graph_names(functional):
    """Names of the operations the flat model will call (not the inputs of nested models)."""
    for node in keras_private.nodes_in_order(functional):
        operation = node.operation
        if isinstance(operation, keras.Model):
            inner = keras_private.graph_model(operation)
            yield from (_graph_names(inner) if inner is not None else [operation.name])
        elif isinstance(operation, keras.layers.Bidirectional):
            yield from (operation.forward_layer.name, operation.backward_layer.name)
        elif hub.chain(operation) is not None:
            yield from (sublayer.name for sublayer in hub.chain(operation))
        elif not node.is_input:
            yield operation.name
