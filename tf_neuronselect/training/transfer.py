"""Moving a compiled model's training state onto its shrunk copy.

The new model gets a fresh optimizer of the same class and config, built on its variables;
then the step counter and other scalars are copied and every per-variable slot (SGD momentum,
Adam m and v, EMA copies, accumulated gradients) is sliced with the same indices as the weight
it belongs to.
"""

import dataclasses

import keras
import numpy as np

from tf_neuronselect.analysis.registry import get_slicer
from tf_neuronselect.surgery import plan as plan_lib
from tf_neuronselect.surgery.assemble import slicer_weights
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.arrays import to_numpy


def compile_like(old_model, new_model):
    """Compiles ``new_model`` with ``old_model``'s compile arguments and a fresh optimizer of
    the same class and config, built on ``new_model``'s trainable variables; returns it."""
    arguments = keras_private.compile_arguments(old_model)
    if arguments is None or getattr(old_model, "optimizer", None) is None:
        raise ValueError(
            "Expected a compiled model. Received: a model that was never compiled. "
            "How to fix: call model.compile(optimizer, loss, ...) before training with "
            "shrinking."
        )
    old_optimizer = old_model.optimizer
    optimizer = type(old_optimizer).from_config(old_optimizer.get_config())
    arguments["optimizer"] = optimizer
    new_model.compile(**arguments)
    # Built here (not lazily inside the first traced step) so the slots exist to be filled, and
    # so proximal optimizers mark their penalties before the first loss is traced.
    optimizer.build(new_model.trainable_variables)
    return optimizer


def slot_lists(optimizer):
    """``{attribute: list}`` of the optimizer's per-variable state, each list aligned with
    ``optimizer._trainable_variables`` (SGD ``momentums``, Adam ``_momentums`` and
    ``_velocities``, ...). Found by shape, so optimizers need no table; entries may be None."""
    variables = keras_private.optimizer_variables(optimizer)
    lists = {}
    for name, value in keras_private.optimizer_attributes(optimizer).items():
        if name in keras_private.NOT_SLOTS or not isinstance(value, list) \
                or len(value) != len(variables):
            continue
        if variables and _aligned(value, variables):
            lists[name] = value
    return lists


def _aligned(values, variables):
    found = False
    for value, variable in zip(values, variables):
        if value is None:
            continue
        if value is variable or not isinstance(value, keras.Variable) \
                or tuple(value.shape) != tuple(variable.shape):
            return False
        found = True
    return found


def transfer_state(old_model, new_model, plan):
    """Copies ``old_model.optimizer``'s state into ``new_model.optimizer`` (already built by
    ``compile_like``), slicing slots as ``plan`` (the plan ``new_model`` was built from)."""
    old, new = old_model.optimizer, new_model.optimizer
    _copy_scalars(old, new)
    if not old.built:
        return
    old_slots, new_slots = slot_lists(old), slot_lists(new)
    for name, layer_plan in plan.layers.items():
        if layer_plan.action == plan_lib.INPUT:
            continue
        old_layer, new_layer = _layer(old_model, name), _layer(new_model, name)
        if old_layer is None or new_layer is None or not old_layer.trainable_weights:
            continue
        for attribute, slots in old_slots.items():
            if attribute in new_slots:
                _move_slots(old, new, old_layer, new_layer, layer_plan, slots,
                            new_slots[attribute])


def _copy_scalars(old, new):
    # The step counter drives learning-rate schedules and Adam's bias correction; a learning
    # rate changed by a callback (ReduceLROnPlateau) lives in a scalar variable as well.
    targets = {v.name: v for v in new.variables if len(v.shape) == 0}
    for variable in old.variables:
        target = targets.get(variable.name)
        if len(variable.shape) == 0 and target is not None:
            target.assign(variable)


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None  # folded away (only without keep_training_layers)


def _move_slots(old, new, old_layer, new_layer, layer_plan, old_slots, new_slots):
    values = []
    for weight in old_layer.weights:
        slot = old_slots[keras_private.variable_index(old, weight)] if weight.trainable else None
        values.append(to_numpy(weight) if slot is None else to_numpy(slot))
    if layer_plan.action == plan_lib.SLICE:
        values = _sliced(old_layer, layer_plan, values)
    for weight, value in zip(new_layer.weights, values):
        if not weight.trainable:
            continue
        slot = new_slots[keras_private.variable_index(new, weight)]
        if slot is not None:
            slot.assign(np.asarray(value, dtype=slot.dtype))


def _sliced(layer, layer_plan, values):
    """``values`` (one array per weight of ``layer``) narrowed exactly as the weights were.

    The layer's slicer reads the layer's variables, so the values are put in them for the
    call and the weights restored after: one definition of every layout, for weights and
    slots alike. No bias fold or gate scale: those shift weights, not their statistics.
    """
    plain = dataclasses.replace(layer_plan, bias_fold=None, in_scale=None, out_scale=None)
    originals = [to_numpy(w) for w in layer.weights]
    try:
        for weight, value in zip(layer.weights, values):
            weight.assign(value)
        return slicer_weights(get_slicer(layer), layer, plain)
    finally:
        for weight, value in zip(layer.weights, originals):
            weight.assign(value)
