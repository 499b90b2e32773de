"""The one place that touches private Keras internals; each function says why no public API does.

Keras 3.12-3.15 keep these names stable; when one moves, this module is the only thing to fix.
Everything else in the library calls the functions below instead of the attributes.
"""

from keras.src.models.functional import Functional


def own_layers(model):
    """Every layer inside ``model``, nested sublayers included, each once, not ``model``.

    ``model.layers`` lists only the top level (a Sequential inside a Functional model, or the
    layers a custom layer creates, are missed); ``_flatten_layers`` is how Keras itself walks
    them for ``model.weights``.
    """
    return list(model._flatten_layers(include_self=False))


def own_trainable_variables(layer):
    """The trainable variables ``layer`` created itself, not those of its sublayers.

    ``layer.trainable_weights`` repeats every sublayer's variables in the wrapper, so a penalty
    would be counted twice; Keras keeps the layer's own ones in ``_trainable_variables``.
    """
    return list(getattr(layer, "_trainable_variables", []))


def producer(tensor):
    """``(operation, node_index, tensor_index)`` of a symbolic ``KerasTensor``, or None.

    A KerasTensor has no public link to the operation that made it; Keras records it in
    ``_keras_history``.
    """
    return getattr(tensor, "_keras_history", None)


def node_input_tensors(operation, node_index):
    """The tensors the ``node_index``-th call of ``operation`` read (``_inbound_nodes``: no
    public API lists an operation's calls)."""
    return operation._inbound_nodes[node_index].input_tensors


def graph_model(model):
    """The Functional model that holds ``model``'s graph: itself, or a built Sequential's inner
    Functional (``_functional``; None while the Sequential has no input shape), or None for
    a subclassed model, whose graph cannot be read."""
    from keras import Sequential

    if isinstance(model, Sequential):
        return model._functional
    if isinstance(model, Functional) and type(model).call is Functional.call:
        return model
    return None


def nodes_in_order(functional):
    """The nodes of a Functional model, inputs first, every node after the nodes it reads.

    ``_nodes_by_depth`` is the topological order Keras itself runs the graph in; no public
    API exposes the nodes.
    """
    depths = sorted(functional._nodes_by_depth, reverse=True)
    return [node for depth in depths for node in functional._nodes_by_depth[depth]]


def call_arguments(node, tensors):
    """``(args, kwargs)`` of ``node``'s call with every symbolic tensor replaced by
    ``tensors[id(tensor)]``: how to call a layer again on new inputs with the same keyword
    arguments (``node.arguments.fill_in``, what ``keras.models.clone_model`` uses too)."""
    return node.arguments.fill_in(tensors)


def input_structure(functional):
    """The nested structure (dict, list, single tensor) of the model's inputs, as it was
    passed to ``keras.Model(inputs, outputs)``; ``model.inputs`` is always a flat list."""
    return functional._inputs_struct


def output_structure(functional):
    """The nested structure of the model's outputs (see ``input_structure``)."""
    return functional._outputs_struct


def variable_index(optimizer, variable):
    """The position of ``variable`` in the optimizer's per-variable lists (slots).

    Inside ``update_step`` the variable may be a raw ``tf.Variable`` (one replica's component
    under ``tf.distribute``); ``_get_variable_index`` is Keras's own lookup that handles it.
    """
    return optimizer._get_variable_index(variable)


def adam_second_moment(optimizer, index):
    """Adam's second-moment slot of the variable at ``index`` (``_velocity_hats`` under
    ``amsgrad``, which Adam divides by then, else ``_velocities``); no public accessor."""
    slots = optimizer._velocity_hats if optimizer.amsgrad else optimizer._velocities
    return slots[index]


def optimizer_variables(optimizer):
    """The Keras variables the optimizer was built on, in slot order (``_trainable_variables``;
    ``optimizer.variables`` lists the optimizer's own state instead)."""
    return list(getattr(optimizer, "_trainable_variables", []))


def optimizer_attributes(optimizer):
    """Every attribute of the optimizer (``vars``): slot lists have no public registry, so they
    are found by scanning for lists aligned with ``optimizer_variables``."""
    return dict(vars(optimizer))


# Lists an optimizer keeps aligned with its variables that are not per-variable state.
NOT_SLOTS = ("_trainable_variables", "_variables")


def compile_arguments(model):
    """The keyword arguments ``model.compile`` was called with, or None if it never was
    (``_compile_config``: Keras keeps them to save and rebuild compiled models)."""
    config = getattr(model, "_compile_config", None)
    return None if config is None else dict(config.config)


def operation_node(operation):
    """The (first) node that records a call of ``operation``: a ``keras.ops`` call in a
    functional graph is an operation of its own, called once (``_inbound_nodes``)."""
    return operation._inbound_nodes[0]


def op_class(function, *constants):
    """The operation class Keras records for ``function(tensor, *constants)`` in a functional
    graph (e.g. ``keras.ops.add`` -> the ``Add`` op). Found by calling it on a symbolic tensor,
    since the classes live in private modules (``keras.src.ops.numpy``)."""
    import keras

    tensor = keras.KerasTensor((None, 4))
    return type(producer(function(tensor, *constants))[0])


def application_layer(module, name):
    """A layer class defined inside ``keras.applications.<module>`` but not exported (ConvNeXt's
    ``LayerScale``, Inception-ResNet's ``CustomScaleLayer``), or None in a Keras without it."""
    import importlib

    try:
        return getattr(importlib.import_module(f"keras.src.applications.{module}"), name)
    except (ImportError, AttributeError):
        return None


def is_default_hook(callback, name):
    """Whether ``callback``'s hook ``name`` is ``keras.callbacks.Callback``'s no-op (Keras
    marks those with ``_is_default``, and runs batch-end hooks off the training thread only
    when every callback's are no-ops or the callback is ``async_safe``)."""
    return bool(getattr(getattr(callback, name, None), "_is_default", False))


# The method of ``keras.layers.MultiHeadAttention`` that returns the per-head outputs
# ``(batch, ..., heads, value_dim)`` before the output projection. Keras's docstring names it
# as the hook to override for custom attention ("Users can override this function"), but its
# name is private; a subclass that overrides it loses only Keras's native causal kernel (the
# causal mask is then built explicitly, same result).
ATTENTION_HOOK = "_compute_attention"


def attention_heads_output(layer, *args, **kwargs):
    """``(per-head outputs, scores)`` of stock ``MultiHeadAttention`` for ``layer`` (a
    subclass that overrides ``ATTENTION_HOOK`` calls this for the stock computation)."""
    import keras

    return getattr(keras.layers.MultiHeadAttention, ATTENTION_HOOK)(layer, *args, **kwargs)


# The attributes KerasHub's TransformerEncoder / TransformerDecoder (keras-hub 0.32) keep their
# attention sublayers in, by role: their ``build`` creates the attentions there with a per-head
# size derived from the head count, and no public argument sets it, so a subclass that needs
# another size swaps the layer while ``build`` assigns it (see layers/hub_blocks.py).
_HUB_ATTENTIONS = {"_self_attention_layer": "self", "_cross_attention_layer": "cross"}


def hub_attention_role(attribute):
    """``"self"`` / ``"cross"`` when ``attribute`` is where a KerasHub transformer block keeps
    its self- / cross-attention sublayer, else None."""
    return _HUB_ATTENTIONS.get(attribute)


# keras-hub 0.32 does not export its ViT layers (``ViTPatchingAndEmbedding``, ``ViTEncoder``,
# ``ViTEncoderBlock``) under ``keras_hub.layers``: they are reached at their module path, which
# the next keras-hub may move.
_HUB_VIT_LAYERS = "keras_hub.src.models.vit.vit_layers"


def hub_vit_layers():
    """KerasHub's module of ViT layers (imports keras_hub: call it only when it is wanted)."""
    import importlib  # noqa: PLC0415

    return importlib.import_module(_HUB_VIT_LAYERS)
