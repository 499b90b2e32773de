"""Depth from width: a residual branch whose output no longer depends on the input goes.

When every unit at the end of a residual branch is dead (an attention whose heads are all
dead, an MLP whose neurons are all dead, a convolution block whose last BatchNorm has gamma 0),
the branch adds the same tensor to the stream whatever the input: ``x + f(x)`` is ``x + c``.
The width rules must keep one unit in every layer, so ``shrink`` alone leaves such a branch
running at width one; this pass replaces the residual Add by ``x + c`` (``c`` a constant of the
call, per channel when it is the same at every position) and the branch's layers drop out of
the model. The outputs are unchanged up to float rounding, and the model gets shallower, which
is what makes a small model faster at batch 1 (every layer costs a dispatch).
"""

import functools

import keras
import numpy as np

from tf_neuronselect.analysis.attention import AttentionSlicer
from tf_neuronselect.analysis.graph import tensor_key
from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.surgery import plan as plan_lib
from tf_neuronselect.utils import keras_private


def input_independent(graph, statuses, constants, tol=0.0):
    """Keys of the tensors of ``graph`` that do not depend on the model's inputs: the outputs of
    layers whose every channel is a constant (``constants``: dead units, closed gates), of
    attentions whose every head is dead, and of any node whose every tensor input is such a
    tensor. ``statuses`` and ``constants`` as the planner computes them."""
    found = set()
    for node in graph.nodes:
        outputs, inputs = graph.output_keys_of(node), graph.input_keys_of(node)
        if node.is_input:
            continue
        if (inputs and all(k in found for k in inputs)) or _silent_attention(node, tol) \
                or all(k in constants and np.isfinite(constants[k]).all() for k in outputs):
            found.update(outputs)
    return found


def _silent_attention(node, tol):
    # Its scores still depend on the input: only an attention returning its output alone.
    slicer = get_slicer(node.operation)
    if not isinstance(slicer, AttentionSlicer) or len(node.outputs) != 1:
        return False
    if not slicer.internal_count(node.operation):
        return False
    return bool(np.all(slicer.internal_status(node.operation, tol)[0]))


def _is_add(operation):
    # An Add layer, or the operation ``keras.ops.add`` / ``x + y`` records.
    return isinstance(operation, (keras.layers.Add, _add_op()))


@functools.cache
def _add_op():
    return keras_private.op_class(keras.ops.add, 2.0)


def constant_adds(graph, independent):
    """``{Add node name: constant keys}`` of the Add nodes that sum at least one tensor that
    depends on the input with at least one that does not."""
    found = {}
    for node in graph.nodes:
        if node.is_input or not _is_add(node.operation):
            continue
        keys = graph.input_keys_of(node)
        fixed = [k for k in keys if k in independent]
        if fixed and len(fixed) < len(keys) and graph.output_keys_of(node)[0] not in independent:
            found[node.operation.name] = fixed
    return found


def constant_value(graph, key):
    """The value of the input-independent tensor ``key`` without its batch axis: a per-channel
    vector when it is the same at every position, else the whole tensor; None when it varies
    along an axis of unknown length (it could depend on that length).

    A value along an axis of unknown length is probed at lengths 1, 2 and 9 and must be the
    same vector at every position of all three (a convolution's border taps or a recurrent
    state that moves would show)."""
    tensor = next(t for n in graph.nodes for t in n.outputs if tensor_key(t) == key)
    probe = keras.Model(graph.model.inputs, tensor)
    known = None not in tuple(tensor.shape)[1:] and all(
        None not in tuple(t.shape)[1:] for t in graph.model.inputs)
    vectors = []
    for length in (None,) if known else (1, 2, 9):
        inputs = [_zeros(t, length) for t in graph.model.inputs]
        value = np.asarray(probe(inputs, training=False))[0]
        flat = value.reshape(-1, value.shape[-1]) if value.ndim else value.reshape(1, 1)
        if not np.all(flat == flat[:1]):
            return value if known else None
        vectors.append(flat[0])
    return vectors[0] if all(np.array_equal(v, vectors[0]) for v in vectors) else None


def _zeros(tensor, length):
    shape = [1] + [length if d is None else d for d in tuple(tensor.shape)[1:]]
    return np.zeros(shape, dtype=tensor.dtype)


def plan_branches(graph, plans, statuses, constants, tol=0.0):
    """Marks in ``plans`` (layer name -> ``LayerPlan``) every Add that sums an input-independent
    branch (``add_constant``, ``constant_inputs``) and every node only such branches reach
    (action "drop", no parameters or multiply-adds left, ``dropped_with`` naming the Add)."""
    adds = constant_adds(graph, input_independent(graph, statuses, constants, tol))
    for name, keys in adds.items():
        values = [constant_value(graph, k) for k in keys]
        if any(v is None for v in values):
            plans[name].notes.append("a summand does not depend on the input but varies along "
                                     "an axis of unknown length: its branch stays")
            continue
        plans[name].add_constant = sum(values)
        plans[name].constant_inputs = list(keys)
    cut = {n: p.constant_inputs for n, p in plans.items() if p.constant_inputs}
    producers = {k: n for n in graph.nodes for k in graph.output_keys_of(n)}
    live = _reached(graph, producers, list(graph.output_keys), cut, set())
    for add, keys in cut.items():
        for name in _reached(graph, producers, list(keys), cut, live) - live:
            plan = plans[name]
            if plan.action not in (plan_lib.DROP, plan_lib.INPUT):
                plan.action, plan.params_after, plan.macs_after = plan_lib.DROP, 0, 0
                plan.dropped_with = add


def _reached(graph, producers, keys, cut, stop):
    """Names of the nodes that produce ``keys`` or what they read, not crossing the constant
    inputs of an Add in ``cut`` (name -> keys) nor the nodes in ``stop``."""
    reached, stack = set(), keys
    while stack:
        node = producers[stack.pop()]
        name = node.operation.name
        if name in reached or name in stop:
            continue
        reached.add(name)
        skipped = set(cut.get(name, ()))
        stack.extend(k for k in graph.input_keys_of(node) if k not in skipped)
    return reached


def add_constant(plan, args, keys):
    """The new image of an Add that ``plan`` marks: its operands without the constant inputs,
    plus their constant."""
    return _add_constant(args, keys, set(plan.constant_inputs), plan.add_constant)


def _add_constant(args, keys, fixed, value):
    """The sum of an Add's operands without the tensors ``fixed`` (by key), plus ``value``;
    an operand that is no tensor (``x + 3.0``) joins ``value``."""
    operands = args[0] if isinstance(args[0], (list, tuple)) else list(args)
    keys, kept = iter(keys), []
    for operand in operands:
        # A tensor of the new model, or None where the old tensor was left unbuilt (dropped).
        if operand is not None and not isinstance(operand, keras.KerasTensor):
            value = value + np.asarray(operand)
        elif next(keys) not in fixed:
            kept.append(operand)
    total = kept[0] if len(kept) == 1 else keras.layers.Add()(kept)
    if not np.any(value):
        return total  # a branch that adds exactly zero (a zero output bias) needs no op
    return keras.ops.add(total, np.asarray(value, dtype=total.dtype))
