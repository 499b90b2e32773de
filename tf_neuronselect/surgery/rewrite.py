"""Executes a ``Plan``: rebuilds the model from stock layers, node by node."""

import dataclasses

import keras
import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.analysis.replay import copy_call
from tf_neuronselect.analysis.replay import layer_from_config
from tf_neuronselect.analysis.replay import replay
from tf_neuronselect.analysis.replay import without_library_objects
from tf_neuronselect.layers.select_features import SelectFeatures
from tf_neuronselect.surgery import plan as plan_lib
from tf_neuronselect.surgery.assemble import slicer_weights
from tf_neuronselect.surgery.branches import add_constant
from tf_neuronselect.surgery.collapse import collapse_linear_dense
from tf_neuronselect.surgery.internal import internal_scale_argument
from tf_neuronselect.surgery.planner import make_plan

_EPSILON = 1e-3


def shrink(model, tol=0.0, round_to=None, keep_training_layers=False, collapse_linear=False,
           prune_inputs=False, drop_branches=True):
    """A smaller functional model computing the same outputs as ``model``.

    Removes every dead unit that can go exactly (see ``tf_neuronselect.report`` for what is
    dead and why some dead units stay), folds the constants removed units emitted into the
    next layers' biases, and folds Gate / TriStateReLU layers away, so the result is built
    from stock Keras layers only and loads without tf_neuronselect.

    Args:
        model: a Functional or Sequential ``keras.Model`` (not subclassed; no shared layers
            or nested models).
        tol: a unit whose incoming group norm is <= tol counts as dead (0: exact removal
            only; > 0 changes outputs slightly, ``report(..., sample_inputs=x)`` says how much).
        round_to: if set, keep the widths of Dense/Conv layers at multiples of it (keeping
            the strongest dead units).
        keep_training_layers: keep Gate and TriStateReLU layers (narrowed, their live values
            unchanged) instead of folding them away, so the smaller model can go on training
            and selecting; penalties on kernels are kept either way. See
            ``keep_for_training``.
        collapse_linear: also merge every linear Dense that feeds only another Dense into
            it (``W1 W2``, ``b1 W2 + b2``) where that lowers the multiply-adds: the depth
            reduction of tri-state ReLUs whose depth gate learned ``d = 1``. The plan's
            parameter counts do not include this step.
        prune_inputs: also drop the model-input features no layer uses (every outgoing
            group of the feature is <= tol in every consumer): a
            ``tf_neuronselect.layers.SelectFeatures`` layer is inserted right after the input
            (its last axis), or after a Flatten that reads the input (the flattened features),
            and the consumers' kernels lose those rows. The model keeps its input signature.
            Off by default: a model holding ``SelectFeatures`` needs tf_neuronselect to load.
        drop_branches: replace every residual Add whose branch no longer depends on the input
            (all heads of its attention dead, all neurons of its MLP dead, a last BatchNorm at
            gamma 0) by an addition of the branch's constant, so the branch's layers go and
            the model gets shallower (``tf_neuronselect.surgery.branches``; the plan marks
            those layers "drop").

    Returns:
        A new ``keras.Model`` (functional) with fresh weights; ``model`` is not changed.
    """
    graph = ModelGraph(model)
    plan = make_plan(graph, tol, round_to, prune_inputs, drop_branches)
    if keep_training_layers:
        return rebuild(graph, keep_for_training(plan))
    compact = rebuild(graph, plan, stock_only=True)
    return collapse_linear_dense(compact) if collapse_linear else compact


def keep_for_training(plan):
    """A copy of ``plan`` that narrows Gate / TriStateReLU layers (and the heads of a
    GatedMultiHeadAttention) instead of folding them.

    The live gate values stay in the gate layers, so no scale is folded into the neighbouring
    kernels (their weights are only sliced); constants of removed units are still folded into
    biases, which keeps the outputs exact. ``params_after`` then counts the kept gates too.
    """
    layers = {}
    for name, layer_plan in plan.layers.items():
        if layer_plan.action == plan_lib.DROP:
            layers[name] = layer_plan
            continue
        if layer_plan.keep_units is not None and layer_plan.out_scale is not None:
            # A gated attention keeps its gates (one per kept head) instead of folding them.
            layer_plan = dataclasses.replace(
                layer_plan, params_after=layer_plan.params_after + len(layer_plan.keep_units))
        layer_plan = dataclasses.replace(layer_plan, in_scale=None, out_scale=None)
        if layer_plan.action in (plan_lib.REMOVE, plan_lib.RELU, plan_lib.SCALE):
            kept = layer_plan.keep_out is not None
            layer_plan = dataclasses.replace(
                layer_plan, action=plan_lib.SLICE if kept else plan_lib.COPY, scale=None,
                relu_after=False, params_after=_gate_params(layer_plan))
        layers[name] = layer_plan
    return dataclasses.replace(plan, layers=layers)


def _gate_params(layer_plan):
    # A gate holds one value per channel, plus TriStateReLU's single depth gate.
    extra = 1 if layer_plan.class_name == "TriStateReLU" else 0
    kept = layer_plan.keep_out
    return (len(kept) if kept is not None else layer_plan.params_before - extra) + extra


def rebuild(graph, plan, stock_only=False):
    """The functional model ``plan`` describes, built by calling new layers on new inputs.

    With ``stock_only`` the penalties and constraints of this library are dropped from the
    layer configs: they only matter for training, and without them the saved model loads with
    plain Keras.
    """
    def call_node(node, args, kwargs):
        layer_plan = plan.layers[node.operation.name]
        if layer_plan.action == plan_lib.DROP:
            return [None] * len(node.outputs)  # nothing the new model reads
        if node.is_input:
            outputs = args[0]
        elif layer_plan.constant_inputs:
            outputs = add_constant(layer_plan, args, graph.input_keys_of(node))
        else:
            outputs = _execute(node.operation, layer_plan, args, kwargs, stock_only)
        if layer_plan.select is not None:
            outputs = _select(layer_plan, outputs, graph)
        return outputs

    return replay(graph, call_node)


def _select(plan, tensor, graph):
    name = f"{plan.name}_select"
    layer = SelectFeatures([int(i) for i in plan.select],
                           name=None if name in graph.operations else name)
    return layer(tensor)


def _execute(operation, plan, args, kwargs, stock_only=False):
    if plan.action == plan_lib.REMOVE:
        return args[0]
    if plan.action == plan_lib.RELU:
        return keras.layers.ReLU(name=plan.name)(args[0])
    if plan.action == plan_lib.SCALE:
        return _scale(plan, args[0])
    if plan.action == plan_lib.SLICE and isinstance(operation, keras.layers.Layer):
        return _sliced(operation, plan, args, kwargs, stock_only)
    if plan.action == plan_lib.SLICE:  # a keras.ops call: its array constants lose channels
        args, kwargs = get_slicer(operation).arguments(operation, args, kwargs, plan.keep_out)
    return copy_call(operation, args, kwargs, stock_only)


def _sliced(operation, plan, args, kwargs, stock_only):
    slicer = get_slicer(operation)
    keep_in = plan.keep_in[0] if len(plan.keep_in) == 1 else plan.keep_in
    cls = None
    if plan.keep_units is not None:
        scale = internal_scale_argument(plan)
        config = slicer.internal_config(operation, plan.keep_units, **scale)
        # Another class than the layer's: a gated attention folds into a stock one, a KerasHub
        # block that loses heads needs a head size its own class cannot be given.
        if hasattr(slicer, "internal_class"):
            cls = slicer.internal_class(operation, plan.keep_units, **scale)
    else:
        config = slicer.config(operation, keep_in, plan.keep_out)
    if stock_only:
        config = without_library_objects(config)
    if plan.enable_bias:
        config["use_bias"] = True
    layer = layer_from_config(operation, config, cls)
    outputs = layer(*args, **kwargs)
    layer.set_weights(slicer_weights(slicer, operation, plan))
    return outputs


def _scale(plan, tensor):
    """A gate that could not be folded: ``x * scale`` as a BatchNormalization with zero mean
    and unit variance, a stock layer that multiplies channels on any rank."""
    if plan.relu_after:
        tensor = keras.layers.ReLU(name=f"{plan.name}_relu")(tensor)
    layer = keras.layers.BatchNormalization(epsilon=_EPSILON, name=plan.name)
    outputs = layer(tensor)
    kept = len(plan.keep_out)
    layer.set_weights([plan.scale[plan.keep_out], np.zeros(kept), np.zeros(kept),
                       np.full(kept, 1.0 - _EPSILON)])
    return outputs
